/**
 * `pgkeeper status [database]`: is it running, when did it last work, can we restore it?
 * Exit code 3 (for monitoring) when a database is stale, has a damaged backup or copy, was never
 * backed up or its last backup run failed, or a store did not answer; without a database named, the
 * globals backups (roles, tablespaces) count too.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../../common/config.js';
import { validateDatabaseName } from '../../common/names.js';
import { lastArgument } from '../../common/shell-word.js';
import { checkInput } from '../cli-error.js';
import { table } from '../format.js';
import { databaseStatus, globalsStatus, scheduleLookup, type DatabaseStatus, type GlobalsStatus } from '../status.js';
import { fetchListing } from './backups.js';

const when = (iso: string | undefined) => (iso ? iso.slice(0, 16).replace('T', ' ') : '-');

/** The worst that is true of a database (or the globals), first: what the STATE column shows. */
function state(s: DatabaseStatus | GlobalsStatus): string {
  if (s.damaged.length) return 'DAMAGED';
  if (s.lastSuccessfulBackup === null) return 'NEVER BACKED UP';
  if (s.lastRun?.outcome === 'failed') return 'LAST RUN FAILED';
  return s.stale === null ? '-' : s.stale ? 'STALE' : 'ok';
}

/** Returns true when something needs attention (exit code 3). */
export async function statusCommand(client: Client, config: Config, database: string | undefined, options: { json?: boolean }): Promise<boolean> {
  if (database !== undefined) checkInput(() => validateDatabaseName(database));
  const listing = await fetchListing(client, config, database);
  const databases = database ? [database] : [...new Set(listing.backups.map((b) => b.database))].sort();
  const nowMs = Date.now();
  const schedules = scheduleLookup(client, config);
  const [statuses, globals] = await Promise.all([
    Promise.all(databases.map((db) => databaseStatus(client, config, listing, db, nowMs, schedules))),
    database === undefined ? globalsStatus(client, config, listing, nowMs, schedules) : null,
  ]);
  const all = globals ? [...statuses, globals] : statuses;
  for (const u of listing.unreachable) process.stderr.write(`store ${u.store} did not answer (its copies are not counted): ${u.reason}\n`);
  const neverBackedUp = statuses.filter((s) => s.lastSuccessfulBackup === null && s.damaged.length === 0);
  if (options.json) {
    process.stdout.write(JSON.stringify(all, null, 2) + '\n');
  } else if (statuses.length === 0 && !globals) {
    process.stdout.write(`no backups in ${listing.stores.join(', ')} yet; start one with \`pgkeeper backup <database>\`\n`);
  } else if (database && neverBackedUp.length === 1 && statuses[0]!.lastRun === null) {
    process.stdout.write(`"${database}" has never been backed up (no backup in ${listing.stores.join(', ')}, no backup run); start one with \`pgkeeper backup ${lastArgument(database)}\`\n`);
  } else {
    const rows = [['DATABASE', 'LAST RUN', 'LAST GOOD BACKUP', 'LAST PROVEN RESTORE', 'NEXT RUN', 'STATE']];
    for (const s of all) {
      rows.push([
        s.kind === 'database' ? s.database : '(globals)',
        s.lastRun ? `${when(s.lastRun.at)} ${s.lastRun.outcome}` : '-',
        s.lastSuccessfulBackup ? `${when(s.lastSuccessfulBackup.at)} ${s.lastSuccessfulBackup.backupId}` : 'never',
        s.kind === 'database' ? when(s.lastProvenRestore?.at) : '-',
        s.schedule ? (s.schedule.paused ? 'paused' : when(s.schedule.nextRun ?? undefined)) : 'no schedule',
        state(s),
      ]);
    }
    process.stdout.write(table(rows) + '\n');
    for (const s of all) for (const d of s.damaged) process.stdout.write(`DAMAGED ${d.backupId}: ${d.reason}\n`);
  }
  return all.some((s) => state(s) !== 'ok' && state(s) !== '-') || statuses.length === 0 || listing.unreachable.length > 0;
}
