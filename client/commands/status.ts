/**
 * `pgkeeper status [database]`: is it running, when did it last work, can we restore it?
 * Exit code 3 (for monitoring) when a database is stale, has a damaged backup or copy, was never
 * backed up, its last backup run failed or the backup it made is gone, or a store did not answer; without a database named, the
 * globals backups (roles, tablespaces) count too.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../../common/config.js';
import { mapWithConcurrency } from '../../common/map-with-concurrency.js';
import { isDatabaseName, otherDatabasesNote, validateDatabaseName } from '../../common/names.js';
import { lastArgument } from '../../common/shell-word.js';
import { checkInput, CliError } from '../cli-error.js';
import { backedUpDatabase, scheduleTargetOf } from '../schedules.js';
import { damageWord, printJson, sayUnreachable, showable, table } from '../format.js';
import { allScheduleCoverage, databaseStatus, globalsStatus, scheduleLookup, type DatabaseStatus, type GlobalsStatus } from '../status.js';
import { listRuns } from '../visibility.js';
import { fetchListing } from './backups.js';

/** Databases whose status is asked of Temporal at once. */
const STATUS_CONCURRENCY = 8;

const when = (iso: string | undefined) => (iso ? iso.slice(0, 16).replace('T', ' ') : '-');

/** The worst that is true of a database (or the globals), first: what the STATE column shows. */
export function state(s: DatabaseStatus | GlobalsStatus): string {
  if (s.damaged.length) return damageWord(s.damaged);
  if (s.gone) return 'BACKUP GONE';
  if (s.missingIn.length) return 'COPY MISSING';
  if (s.lastSuccessfulBackup === null) return 'NEVER BACKED UP';
  if (s.lastRun?.outcome === 'failed') return 'LAST RUN FAILED';
  if (s.kind === 'database' && s.lastDrill?.outcome === 'failed') return 'LAST DRILL FAILED';
  if (s.stale) return 'STALE';
  // What a silent store holds is not known, so not "ok" (stderr says which store and why).
  if (s.unreachable.length) return 'STORE DOWN';
  return s.stale === null ? '-' : 'ok';
}

/** The databases this queue's backup schedules name (not the drills': a drill restores, it does not back up). */
async function scheduledDatabases(client: Client, config: Config): Promise<string[]> {
  const names: string[] = [];
  for await (const s of client.schedule.list()) {
    const target = scheduleTargetOf(s.scheduleId, config.temporal.taskQueue, s.memo);
    const database = target && backedUpDatabase(target);
    if (database !== undefined) names.push(database);
  }
  return names;
}

/** Recent backup runs read for the databases they backed up. */
const RECENT_BACKUP_RUNS = 200;

/**
 * The databases recent runs backed up: one whose every backup has left the stores (a disk not
 * mounted, a prefix changed) still shows, as BACKUP GONE, rather than vanishing from the list.
 */
async function recentlyBackedUp(client: Client, config: Config): Promise<string[]> {
  const runs = await listRuns(client, config, { operations: ['backup'], outcome: 'completed' }, RECENT_BACKUP_RUNS);
  return [...new Set(runs.map((r) => r.database))].filter(isDatabaseName);
}

/** Returns true when something needs attention (exit code 3). */
export async function statusCommand(client: Client, config: Config, database: string | undefined, options: { json?: boolean }): Promise<boolean> {
  if (database !== undefined) checkInput(() => validateDatabaseName(database));
  const schedules = scheduleLookup(client, config);
  // Without a database named, the databases the --all schedule covers are asked of the worker
  // while it lists the stores: the two waits overlap.
  const covering = allScheduleCoverage(client, config, schedules, { ask: database === undefined });
  covering.catch(() => undefined); // observed below, unless the listing fails first
  const listing = await fetchListing(client, config, database).catch((err: unknown) => {
    // No store answered at all: as much a matter for a person as one store down (exit 3, not 1).
    if (err instanceof CliError && err.storesDown) {
      process.stderr.write(`pgkeeper: ${err.message}\n`);
      return undefined;
    }
    throw err;
  });
  if (!listing) return true;
  const nowMs = Date.now();
  // Without a database named: every database with a backup, every one a schedule of its own
  // promises backups of, and every one the --all schedule covers, so that one whose every run
  // fails (or that no run has reached yet) still shows (NEVER BACKED UP).
  const [scheduled, covered, backedUp] = await Promise.all([database ? [] : scheduledDatabases(client, config), covering, database ? [] : recentlyBackedUp(client, config)]);
  const databases = database ? [database] : [...new Set([...listing.backups.map((b) => b.database), ...scheduled, ...covered.databases, ...backedUp])].sort();
  const [statuses, globals] = await Promise.all([
    // A few at a time: each asks Temporal's visibility, which rate-limits a namespace's queries.
    mapWithConcurrency(databases, STATUS_CONCURRENCY, (db) => databaseStatus(client, config, listing, db, nowMs, schedules, covering)),
    database === undefined ? globalsStatus(client, config, listing, nowMs, schedules) : null,
  ]);
  const all = globals ? [...statuses, globals] : statuses;
  sayUnreachable(listing.unreachable, 'its copies are not counted');
  // The --all schedule as a whole is a matter for the status of every database, not of one.
  if (database === undefined && covered.note) process.stderr.write(`note: ${covered.note}\n`);
  const neverBackedUp = statuses.filter((s) => s.lastSuccessfulBackup === null && s.damaged.length === 0);
  if (options.json) {
    printJson(all);
  } else if (statuses.length === 0 && !globals) {
    process.stdout.write(`no backups in ${listing.stores.join(', ')} yet; start one with \`pgkeeper backup <database>\`\n`);
  } else if (database && neverBackedUp.length === 1 && statuses[0]!.lastRun === null) {
    // A name mistyped is likelier than a database never backed up, when the stores hold one like it.
    const meant = otherDatabasesNote(database, listing.others ?? []);
    process.stdout.write(
      showable(`"${database}" has never been backed up (no backup in ${listing.stores.join(', ')}, no backup run)${meant ? `; ${meant}` : ''}; start one with \`pgkeeper backup ${lastArgument(database)}\``) + '\n',
    );
  } else {
    const rows = [['DATABASE', 'LAST RUN', 'LAST GOOD BACKUP', 'LAST PROVEN RESTORE', 'NEXT RUN', 'STATE']];
    for (const s of all) {
      rows.push([
        s.kind === 'database' ? s.database : '(globals)',
        s.lastRun ? `${when(s.lastRun.at)} ${s.lastRun.outcome}` : '-',
        s.lastSuccessfulBackup ? `${when(s.lastSuccessfulBackup.at)} ${s.lastSuccessfulBackup.backupId}` : 'never',
        // Which backup was proven, as for the last good one: it is not always the newest.
        s.kind === 'database' ? (s.lastProvenRestore ? `${when(s.lastProvenRestore.at)} ${s.lastProvenRestore.backupId}${s.lastProvenRestore.deleted ? ' (since deleted)' : ''}` : 'never') : '-',
        s.schedule ? (s.schedule.paused ? 'paused' : when(s.schedule.nextRun ?? undefined)) : 'no schedule',
        state(s),
      ]);
    }
    process.stdout.write(table(rows) + '\n');
    for (const s of all) for (const d of s.damaged) process.stdout.write(showable(`${damageWord([d])} ${d.backupId}: ${d.reason}`) + '\n');
    const again = (s: DatabaseStatus | GlobalsStatus) => (s.kind === 'database' ? `pgkeeper backup ${lastArgument(s.database)}` : 'pgkeeper backup --all');
    for (const s of all.filter((s) => s.gone)) {
      const { backupId, at, workflowId } = s.gone!;
      process.stdout.write(
        showable(
          `BACKUP GONE ${backupId}: made ${when(at)} by ${workflowId}, and no store holds it or a newer one (${listing.stores.join(', ')}): a disk not mounted, a bucket or prefix changed, or files removed? Check the store; \`${again(s)}\` makes a new one`,
        ) + '\n',
      );
    }
    for (const s of all.filter((s) => s.missingIn.length > 0)) {
      process.stdout.write(showable(`COPY MISSING ${s.lastSuccessfulBackup!.backupId}: not in ${s.missingIn.join(', ')}; the next backup writes every store (\`${again(s)}\` now)`) + '\n');
    }
  }
  return all.some((s) => state(s) !== 'ok' && state(s) !== '-') || statuses.length === 0 || listing.unreachable.length > 0 || (database === undefined && covered.attention);
}
