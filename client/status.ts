/**
 * Per-database status: last run, last successful backup, last proven restore, next scheduled run,
 * and whether the newest backup is older than its schedule promises. The backup directory is the
 * truth for what exists; Temporal says what ran and what is planned.
 */
import { promises as fs } from 'node:fs';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { listCompleteBackups } from '../activities/backup-store.js';
import type { Config } from '../common/config.js';
import { validateDatabaseName } from '../common/names.js';
import type { DrillProof } from '../common/types.js';
import { scheduleHandle } from './schedules.js';
import { listRuns } from './visibility.js';

export interface DatabaseStatus {
  database: string;
  lastRun: { at: string; outcome: string; workflowId: string } | null;
  lastSuccessfulBackup: { at: string; backupId: string } | null;
  lastProvenRestore: { at: string; backupId: string } | null;
  schedule: { id: string; nextRun: string | null; intervalMs: number | null; paused: boolean } | null;
  /** The newest backup is older than the schedule's interval allows (1.5 intervals), or there is none. */
  stale: boolean | null;
}

/** A schedule promises a backup every interval; half an interval more covers the run itself and jitter. */
const STALE_AFTER_INTERVALS = 1.5;

async function scheduleOf(client: Client, config: Config, database: string): Promise<DatabaseStatus['schedule']> {
  for (const target of [{ database }, { all: true as const }]) {
    try {
      const d = await scheduleHandle(client, config, target).describe();
      const [next, after] = d.info.nextActionTimes;
      return {
        id: d.scheduleId,
        nextRun: next?.toISOString() ?? null,
        intervalMs: next && after ? after.getTime() - next.getTime() : null,
        paused: d.state.paused,
      };
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return null;
}

async function newestProof(paths: string[]): Promise<DrillProof | undefined> {
  const proofs: DrillProof[] = [];
  for (const p of paths) {
    const text = await fs.readFile(p, 'utf8').catch(() => undefined);
    if (text) proofs.push(JSON.parse(text) as DrillProof);
  }
  return proofs.sort((a, b) => (a.provenAt < b.provenAt ? 1 : -1))[0];
}

export async function databaseStatus(client: Client, config: Config, database: string, nowMs = Date.now()): Promise<DatabaseStatus> {
  const [backups, runs, schedule] = await Promise.all([
    listCompleteBackups(config.backupDir, database),
    listRuns(client, config, { database, operations: ['backup'] }, 1),
    scheduleOf(client, config, database),
  ]);
  const newest = backups[0]?.manifest;
  const proof = await newestProof(backups.map((b) => b.paths.drillProof));
  const ageMs = newest ? nowMs - Date.parse(newest.finishedAt) : Infinity;
  return {
    database,
    lastRun: runs[0] ? { at: runs[0].startTime.toISOString(), outcome: runs[0].outcome, workflowId: runs[0].workflowId } : null,
    lastSuccessfulBackup: newest ? { at: newest.finishedAt, backupId: newest.id } : null,
    lastProvenRestore: proof ? { at: proof.provenAt, backupId: proof.backupId } : null,
    schedule,
    stale: schedule?.intervalMs ? ageMs > STALE_AFTER_INTERVALS * schedule.intervalMs : null,
  };
}

/** Databases that have a directory in BACKUP_DIR (pgkeeper's own `.globals`, `.pinned` are not database names). */
export async function knownDatabases(config: Config): Promise<string[]> {
  const entries = await fs.readdir(config.backupDir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && isValidDatabaseName(e.name))
    .map((e) => e.name)
    .sort();
}

function isValidDatabaseName(name: string): boolean {
  try {
    validateDatabaseName(name);
    return true;
  } catch {
    return false;
  }
}
