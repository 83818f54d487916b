/**
 * `pgkeeper backups [database]`: every backup in every store, asked of the worker (the CLI needs
 * no access to the stores). Damaged backups are listed as DAMAGED with the reason, in their place;
 * the globals backups (roles, tablespaces) after the databases'.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { Config } from '../../common/config.js';
import { joinListingPages } from '../../common/listing-pages.js';
import { PGKEEPER_VERSION } from '../version.js';
import { otherDatabasesNote, validateDatabaseName } from '../../common/names.js';
import type { BackupListing, ListedBackup } from '../../common/types.js';
import type { listBackups } from '../../workflows/list-backups.js';
import { checkInput, CliError, failedRun } from '../cli-error.js';
import { damageWord, formatBytes, printJson, sayUnreachable, showable, table, utcTime } from '../format.js';
import { askWorker } from '../worker-workflow.js';

/** Every page of the listing (common/listing-pages.ts), joined. */
export async function fetchListing(client: Client, config: Config, database?: string): Promise<BackupListing> {
  const pages: BackupListing[] = [];
  try {
    do {
      const from = pages.at(-1)?.next;
      pages.push(await askWorker<typeof listBackups>(client, config, 'listBackups', { ...(database === undefined ? {} : { database }), ...(from ? { from } : {}) }));
      // A worker that answers the same page again would be asked for ever.
      if (from && JSON.stringify(pages.at(-1)!.next) === JSON.stringify(from)) throw new CliError(`the worker's listing does not advance past ${JSON.stringify(from)}: its pgkeeper and this CLI's (${PGKEEPER_VERSION}) may differ; upgrade them together`);
    } while (pages.at(-1)!.next);
  } catch (err) {
    throw err instanceof WorkflowFailedError ? failedRun('listing the backups failed', err) : err;
  }
  return joinListingPages(pages);
}

/** Where a backup is: "primary" and the copies, each marked when damaged there. */
function locations(listing: BackupListing, b: Pick<ListedBackup, 'locations'>): string {
  return b.locations.map((l) => `${listing.stores.indexOf(l.store) === 0 ? 'primary' : l.store}${l.status === 'damaged' ? ` (${damageWord([l])})` : ''}`).join(', ');
}

/**
 * Prints the listing; returns whether it needs attention (exit code 3, as `status`): a store did
 * not answer, so the list may be missing backups, or a backup is damaged in a store.
 */
export async function backupsCommand(client: Client, config: Config, database: string | undefined, options: { json?: boolean }): Promise<boolean> {
  if (database !== undefined) checkInput(() => validateDatabaseName(database));
  const listing = await fetchListing(client, config, database).catch((err: unknown) => {
    // No store answered at all: as much a matter for a monitor as one store down (exit 3, as `status`), not a usage error.
    if (err instanceof CliError && err.storesDown) {
      process.stderr.write(`pgkeeper: ${err.message}\n`);
      if (options.json) printJson({ error: err.message }); // a JSON reader gets JSON, not nothing
      return undefined;
    }
    throw err;
  });
  if (!listing) return true;
  const attention = listing.unreachable.length > 0 || [...listing.backups, ...(listing.globals ?? [])].some((b) => b.locations.some((l) => l.status === 'damaged'));
  // After the listing in every form, --json included: why the exit code is 3.
  const unreachable = () => sayUnreachable(listing.unreachable, 'its copies are not listed');
  if (options.json) {
    printJson(listing);
    unreachable();
    return attention;
  }
  const globals = listing.globals ?? []; // a worker older than the CLI lists none
  if (listing.backups.length === 0) {
    const answered = listing.stores.filter((s) => !listing.unreachable.some((u) => u.store === s)); // the others are named below
    const note = database !== undefined ? otherDatabasesNote(database, listing.others ?? []) : '';
    process.stdout.write(showable(`no ${globals.length ? 'database ' : ''}backups${database ? ` of "${database}"` : ''} in ${answered.join(', ')}${note && `; ${note}`}`) + '\n');
  } else {
    const rows = [['ID', 'DATABASE', 'STATUS', 'SIZE', 'CREATED (UTC)', 'COMPRESSION', 'STORES']];
    for (const b of listing.backups) {
      rows.push([
        b.id,
        b.database,
        b.status === 'complete' ? 'ok' : damageWord(b.locations),
        b.sizeBytes === null ? '-' : formatBytes(b.sizeBytes),
        utcTime(b.snapshotAt ?? b.createdAt), // when the data was read: a retried dump read it later than its id says
        b.compression === null ? '-' : `${b.compression}${b.encrypted ? '+age' : ''}`,
        locations(listing, b),
      ]);
    }
    process.stdout.write(table(rows) + '\n');
  }
  if (globals.length > 0) {
    const rows = [['GLOBALS ID', 'STATUS', 'SIZE', 'CREATED (UTC)', 'ROLES', 'STORES']];
    for (const g of globals) {
      rows.push([g.id, g.status === 'complete' ? 'ok' : damageWord(g.locations), g.sizeBytes === null ? '-' : `${formatBytes(g.sizeBytes)}${g.encrypted ? ' (age)' : ''}`, utcTime(g.createdAt), g.roles === null ? '-' : String(g.roles), locations(listing, g)]);
    }
    process.stdout.write(`\nroles and tablespaces (from backup --all; restore --globals <id> creates the missing ones first):\n${table(rows)}\n`);
  }
  for (const b of [...listing.backups, ...globals]) {
    for (const l of b.locations.filter((x) => x.status === 'damaged')) process.stdout.write(showable(`${damageWord([l])} ${b.id} in ${l.store}: ${l.reason}`) + '\n');
  }
  process.stdout.write(`stores: ${listing.stores[0]} (primary)${listing.stores.slice(1).map((s) => `, ${s}`).join('')}\n`);
  unreachable();
  return attention;
}
