/**
 * backupCluster: the globals (roles, tablespaces) once, copied and pruned like any backup, then
 * one child backupDatabase per database, a few at a time. Every database gets its own outcome;
 * one failure hides nothing, and the workflow fails only after all have finished, listing what failed.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure,
  ChildWorkflowCancellationType,
  defineQuery,
  setHandler,
  executeChild,
  ParentClosePolicy,
  patched,
  proxyActivities,
  uuid4,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { GLOBALS_FOLDER } from '../common/backup-keys.js';
import { normalizeClusterInput, type ClusterInput, type NormalizedClusterInput } from '../common/cluster-input.js';
import { ALL_DATABASES } from '../common/search-attributes.js';
import { rootCauseMessage } from '../common/failure-message.js';
import { makeGlobalsId } from '../common/globals.js';
import { mapWithConcurrency } from '../common/map-with-concurrency.js';
import { databaseWorkflowId } from '../common/names.js';
import type { ClusterDatabaseOutcome, ClusterResult } from '../common/types.js';
import { longRunning, quick } from './activity-options.js';
import { audited } from './audit.js';
import { backupDatabase } from './backup-database.js';
import { busyReason } from './database-lock.js';
import { rejectInput, requireRetentionRule } from './reject-input.js';

const { listClusterDatabases, dumpGlobals } = proxyActivities<Activities>(quick);
const { copyBackup, applyRetention } = proxyActivities<Activities>(longRunning);

const clusterProgressQuery = defineQuery<{ phase: string; databasesDone: number; databasesTotal: number }>('progress');

export async function backupCluster(input: ClusterInput = {}, ...extra: unknown[]): Promise<ClusterResult> {
  const req = rejectInput(() => requireRetentionRule(normalizeClusterInput(input), 'retention'), { operation: 'cluster', input, extra, database: ALL_DATABASES });
  // The globals backup it made is the run's backup id: `status` finds it gone from the stores by it.
  return audited('cluster', ALL_DATABASES, () => backUpCluster(req), (result) => ({ outcome: 'completed', ...(result.globals.id !== undefined ? { backupId: result.globals.id } : {}) }));
}

/**
 * Globals like a database backup: dumped, copied to every copy store (one that fails does not
 * keep the others from their copy), then retention (only when all of that worked).
 */
async function backUpGlobals(req: NormalizedClusterInput, startedMs: number): Promise<ClusterResult['globals']> {
  let dumped: { id: string; store: string; copies: string[]; encrypted: boolean };
  try {
    dumped = await dumpGlobals({ globalsId: makeGlobalsId(startedMs, uuid4()) });
  } catch (err) {
    return { status: 'failed', reason: rootCauseMessage(err) };
  }
  const failedCopies: string[] = [];
  for (const store of dumped.copies) {
    try {
      await copyBackup({ folder: GLOBALS_FOLDER, store });
    } catch (err) {
      failedCopies.push(`${store} failed: ${rootCauseMessage(err)}`);
      // Runs from before every copy store was tried stopped at the first failure (replayed as they ran).
      if (!patched('globals-copy-every-store')) break;
    }
  }
  const stored = { id: dumped.id, encrypted: dumped.encrypted };
  if (failedCopies.length > 0) {
    const reason = `globals backup ${dumped.id} is stored in ${dumped.store}, but its copy to ${failedCopies.join('; ')}. Retention did not run; the next backup makes the missing copy`;
    return { status: 'failed', ...stored, reason };
  }
  try {
    await applyRetention({ globals: true, policy: req.retention, made: dumped.id });
  } catch (err) {
    return { status: 'failed', ...stored, reason: `globals backup ${dumped.id} is stored and copied, but retention failed: ${rootCauseMessage(err)}` };
  }
  return { status: 'completed', ...stored };
}

async function backUpCluster(req: NormalizedClusterInput): Promise<ClusterResult> {
  const startedMs = Date.now();
  let progress = { phase: 'listing databases', databasesDone: 0, databasesTotal: 0 };
  setHandler(clusterProgressQuery, () => progress);
  const { taskQueue } = workflowInfo();
  const databases = await listClusterDatabases({ include: req.include, exclude: req.exclude });

  progress = { phase: 'backing up globals', databasesDone: 0, databasesTotal: databases.length };
  const globals = await backUpGlobals(req, startedMs);

  progress = { ...progress, phase: 'backing up databases' };
  const outcomes = await mapWithConcurrency(databases, req.concurrency, async (database): Promise<ClusterDatabaseOutcome> => {
    const outcome = await backUpOne(database, taskQueue, req);
    progress = { ...progress, databasesDone: progress.databasesDone + 1 };
    return outcome;
  });

  const failed = outcomes.filter((o) => o.status === 'failed');
  const result: ClusterResult = {
    status: failed.length === 0 && globals.status === 'completed' ? 'completed' : 'failed',
    globals,
    databases: outcomes,
    durationMs: Date.now() - startedMs,
  };
  if (result.status === 'failed') {
    const problems = [...(globals.status === 'failed' ? [`globals (${globals.reason})`] : []), ...failed.map((o) => `${o.database} (${o.reason})`)];
    // The full per-database result travels in the failure's details, visible in the UI.
    throw ApplicationFailure.create({
      message: `cluster backup: ${problems.length} of ${databases.length + 1} parts failed: ${problems.join('; ')}`,
      type: 'ClusterBackupFailed',
      nonRetryable: true,
      details: [result],
    });
  }
  return result;
}

async function backUpOne(database: string, taskQueue: string, req: NormalizedClusterInput): Promise<ClusterDatabaseOutcome> {
  const workflowId = databaseWorkflowId(taskQueue, database);
  try {
    const result = await executeChild(backupDatabase, {
      workflowId,
      args: [
        {
          database,
          verify: req.verify,
          ...(req.compression !== undefined ? { compression: req.compression } : {}),
          ...(req.retention ? { retention: req.retention } : {}),
        },
      ],
      taskQueue,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
    if (result.status === 'skipped') return { database, status: 'skipped', reason: result.reason };
    const notCopied = result.stores.flatMap((s) => (s.skipped ?? []).map((k) => ({ ...k, store: s.store })));
    return { database, status: 'completed', backupId: result.backupId, sizeBytes: result.sizeBytes, ...(notCopied.length ? { notCopied } : {}), ...(result.warnings?.length ? { warnings: result.warnings } : {}) };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      return { database, status: 'skipped', reason: `skipped: ${busyReason(database, workflowId)}` };
    }
    return { database, status: 'failed', reason: rootCauseMessage(err) };
  }
}
