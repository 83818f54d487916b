/**
 * Per-database status: last run, last good backup, damaged backups, last proven restore, next
 * scheduled run, and whether the newest good backup is older than its schedule promises. The
 * worker says what the stores hold; Temporal says what ran and what is planned.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../common/config.js';
import type { BackupListing } from '../common/types.js';
import { scheduleHandle } from './schedules.js';
import { listRuns } from './visibility.js';

export interface DatabaseStatus {
  database: string;
  lastRun: { at: string; outcome: string; workflowId: string } | null;
  lastSuccessfulBackup: { at: string; backupId: string } | null;
  /** Backups newer than the last good one that are damaged: the newest backup may not be what it seems. */
  damaged: { backupId: string; reason: string }[];
  lastProvenRestore: { at: string; backupId: string } | null;
  schedule: { id: string; nextRun: string | null; intervalMs: number | null; paused: boolean } | null;
  /** The newest good backup is older than the schedule's interval allows (1.5 intervals), or there is none. */
  stale: boolean | null;
}

/** A schedule promises a backup every interval; half an interval more covers the run itself and jitter. */
const STALE_AFTER_INTERVALS = 1.5;

async function scheduleOf(client: Client, config: Config, database: string): Promise<DatabaseStatus['schedule']> {
  for (const target of [{ database }, { all: true as const }]) {
    try {
      const d = await scheduleHandle(client, config, target).describe();
      const [next, after] = d.info.nextActionTimes;
      return { id: d.scheduleId, nextRun: next?.toISOString() ?? null, intervalMs: next && after ? after.getTime() - next.getTime() : null, paused: d.state.paused };
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return null;
}

export async function databaseStatus(client: Client, config: Config, listing: BackupListing, database: string, nowMs = Date.now()): Promise<DatabaseStatus> {
  const [runs, schedule] = await Promise.all([listRuns(client, config, { database, operations: ['backup'] }, 1), scheduleOf(client, config, database)]);
  const backups = listing.backups.filter((b) => b.database === database);
  const newestGood = backups.find((b) => b.status === 'complete');
  const proven = backups.filter((b) => b.lastProvenAt !== null).sort((a, b) => (a.lastProvenAt! < b.lastProvenAt! ? 1 : -1))[0];
  const damaged = backups
    .filter((b) => !newestGood || b.createdAt > newestGood.createdAt || b.status === 'damaged')
    .flatMap((b) => b.locations.filter((l) => l.status === 'damaged').map((l) => ({ backupId: b.id, reason: `${l.reason} in ${l.store}` })));
  const ageMs = newestGood ? nowMs - Date.parse(newestGood.finishedAt ?? newestGood.createdAt) : Infinity;
  return {
    database,
    lastRun: runs[0] ? { at: runs[0].startTime.toISOString(), outcome: runs[0].outcome, workflowId: runs[0].workflowId } : null,
    lastSuccessfulBackup: newestGood ? { at: newestGood.finishedAt ?? newestGood.createdAt, backupId: newestGood.id } : null,
    damaged,
    lastProvenRestore: proven ? { at: proven.lastProvenAt!, backupId: proven.id } : null,
    schedule,
    stale: schedule?.intervalMs ? ageMs > STALE_AFTER_INTERVALS * schedule.intervalMs : null,
  };
}
