/**
 * The activities a pgkeeper worker registers, bound to the worker's configuration. Every activity
 * heartbeats (those that report progress do so themselves; the rest through `alive`; the outcome
 * report runs as local activities, with short timeouts), so a worker
 * that dies in any step is noticed within the heartbeat timeout and the step moves to another worker.
 * Workflows import this module's type only (`import type`), never its code.
 */
import { Context } from '@temporalio/activity';
import type { Config } from '../common/config.js';
import type { OutcomeReport } from '../common/outcome-report.js';
import type { VerifyInput } from '../common/verify-input.js';
import type { DrillProof, DumpRequest, ListingCursor, PublishRequest, RetentionRequest } from '../common/types.js';
import { applyGlobals } from './apply-globals.js';
import { applyRetention } from './apply-retention.js';
import { checkTarget } from './check-target.js';
import { copyBackup, type CopyRequest } from './copy-backup.js';
import { recordDrillProof } from './drill-proof.js';
import { dumpDatabase } from './dump-database.js';
import { dumpGlobals } from './dump-globals.js';
import { heartbeatEvery } from './heartbeat.js';
import { listBackups } from './list-backups.js';
import { listClusterDatabases, listServerDatabases } from './list-databases.js';
import { publishBackup } from './publish-backup.js';
import { notifyOutcome, recordOutcomeMetrics } from './report-outcome.js';
import { resolveBackup, unpinBackup, type ResolveRequest } from './resolve-backup.js';
import { dropStagingAndScratch, restoreIntoStaging, type RestoreArchiveRequest } from './restore-archive.js';
import { swapIntoPlace, type SwapRequest } from './swap-into-place.js';
import { validateStaging, type ValidateRequest } from './validate-restore.js';
import { verifyArchives } from './verify-archives.js';
import { waitForDatabase, type WaitRequest } from './wait-for-database.js';

/**
 * Test hook: a worker started with PGKEEPER_TEST_HOLD=<activity> holds that activity (heartbeating)
 * instead of running it, so a test can kill the worker in the middle of a step that is otherwise
 * over in milliseconds. Never set in production.
 */
async function held(name: string): Promise<void> {
  if (process.env.PGKEEPER_TEST_HOLD !== name) return;
  await Context.current().sleep(86_400_000); // ends only with the worker, or a cancellation
}

/** Heartbeats while a step without progress of its own runs. */
function alive<A, R>(name: string, fn: (req: A) => Promise<R>): (req: A) => Promise<R> {
  return async (req: A) => {
    const stop = heartbeatEvery(1_000, () => ({ phase: name }));
    try {
      await held(name);
      return await fn(req);
    } finally {
      stop();
    }
  };
}

export function createActivities(config: Config) {
  return {
    // backup
    waitForDatabase: (req: WaitRequest) => waitForDatabase(config, req),
    dumpDatabase: (req: DumpRequest) => dumpDatabase(config, req),
    publishBackup: alive('publishBackup', (req: PublishRequest) => publishBackup(config, req)),
    copyBackup: (req: CopyRequest) => copyBackup(config, req),
    applyRetention: (req: RetentionRequest) => applyRetention(config, req),
    listBackups: alive('listBackups', (req: { database?: string; from?: ListingCursor }) => listBackups(config, req)),
    verifyArchives: (req: VerifyInput) => verifyArchives(config, req),
    // restore
    resolveBackup: alive('resolveBackup', (req: ResolveRequest) => resolveBackup(config, req)),
    unpinBackup: alive('unpinBackup', (req: { store: string; pinKey: string }) => unpinBackup(config, req)),
    checkTarget: alive('checkTarget', (req: { target: string; mode: 'create' | 'replace' }) => checkTarget(config, req)),
    restoreIntoStaging: (req: RestoreArchiveRequest) => restoreIntoStaging(config, req),
    validateStaging: (req: ValidateRequest) => validateStaging(config, req),
    swapIntoPlace: (req: SwapRequest) => swapIntoPlace(config, req),
    dropStagingDatabase: alive('dropStagingDatabase', (req: { staging: string }) => dropStagingAndScratch(config, req.staging)),
    applyGlobals: alive('applyGlobals', (req: { globals: string }) => applyGlobals(config, req)),
    recordDrillProof: alive('recordDrillProof', (proof: DrillProof) => recordDrillProof(config, proof)),
    // whole server
    listClusterDatabases: alive('listClusterDatabases', (req: { include: string[]; exclude: string[] }) => listClusterDatabases(config, req)),
    listServerDatabases: alive('listServerDatabases', (_req: Record<string, never>) => listServerDatabases(config)),
    dumpGlobals: alive('dumpGlobals', (req: { globalsId: string }) => dumpGlobals(config, req)),
    // audit
    recordOutcomeMetrics: async (report: OutcomeReport) => recordOutcomeMetrics(report),
    // Local activities (see workflows/activity-options.ts): they do not heartbeat.
    notifyOutcome: (report: OutcomeReport) => notifyOutcome(config, report),
  };
}

export type Activities = ReturnType<typeof createActivities>;
