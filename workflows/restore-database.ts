/**
 * restoreDatabase: resolve the backup -> verify its checksum -> wait for the server -> check the
 * target and roles -> pg_restore into a staging database -> validate against the manifest -> swap in.
 * The target is touched only by the final swap; any failure or cancellation before it drops the
 * staging database and leaves the target as it was. In replace mode the previous database is kept
 * under `<target>_pre_restore_<timestamp>`.
 */
import { ApplicationFailure, defineQuery, proxyActivities, setHandler, uuid4 } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { keptName, normalizeRestoreInput, stagingName, type NormalizedRestoreInput, type RestoreInput } from '../common/restore-input.js';
import type { ResolvedBackup, RestorePhase, RestoreProgress, RestoreResult } from '../common/types.js';
import { longRunning, patient, quick } from './activity-options.js';
import { waitForServer, withPinnedBackup } from './pinned-backup.js';
import { audited } from './audit.js';
import { cleanUp } from './cleanup.js';
import { runUnderDatabaseLock } from './database-lock.js';
import { phaseClock, type PhaseClock } from './phase-clock.js';
import { rejectInput } from './reject-input.js';

const restoreProgressQuery = defineQuery<RestoreProgress>('progress');

const { verifyChecksum, verifyArchiveAt, restoreIntoStaging, validateStaging } = proxyActivities<Activities>(longRunning);
const { applyGlobals, checkTargetAndRoles, dropStagingDatabase } = proxyActivities<Activities>(quick);
const { swapIntoPlace } = proxyActivities<Activities>(patient);

export async function restoreDatabase(input: RestoreInput): Promise<RestoreResult> {
  const req = rejectInput(() => normalizeRestoreInput(input));
  const lock = await runUnderDatabaseLock(req.target, restoreDatabase, input);
  if (lock.kind === 'delegated') return lock.result;
  if (lock.kind === 'busy') {
    throw ApplicationFailure.nonRetryable(
      `refused: another pgkeeper operation on "${req.target}" is running (${lock.workflowId}); nothing was changed. Wait for it to finish, then restore again`,
      'DatabaseBusy',
    );
  }

  return audited('restore', req.target, () => restore(req), (r) => ({ outcome: 'completed', backupId: r.backup.label }));
}

async function restore(req: NormalizedRestoreInput): Promise<RestoreResult> {
  const staging = stagingName(req.target, uuid4());
  const clock = phaseClock<RestorePhase>('resolving backup');
  setHandler(restoreProgressQuery, () => ({ ...clock.current(), staging }));

  return withPinnedBackup({ backup: req.backup, database: req.database }, (backup) => restoreResolved(req, staging, clock, backup));
}

async function restoreResolved(req: NormalizedRestoreInput, staging: string, clock: PhaseClock<RestorePhase>, backup: ResolvedBackup): Promise<RestoreResult> {
  const startedMs = Date.now();
  const enter = clock.enter;
  const warnings: string[] = [];
  enter('verifying checksum');
  if (backup.kind === 'manifest') {
    await verifyChecksum({ dumpPath: backup.dumpPath, sha256: backup.sha256!, sizeBytes: backup.sizeBytes });
  } else {
    await verifyArchiveAt({ dumpPath: backup.dumpPath });
    warnings.push(`${backup.label} has no manifest: checksum not verified (the archive was read through with pg_restore instead)`);
  }
  const verifyMs = enter('waiting for database');
  await waitForServer();
  let globals: RestoreResult['globals'] = null;
  if (req.globals) {
    enter('applying globals');
    const applied = await applyGlobals({ globals: req.globals });
    globals = { id: applied.id, created: applied.created };
    warnings.push(...applied.warnings);
  }
  enter('checking target and roles');
  await checkTargetAndRoles({ target: req.target, mode: req.mode, dumpPath: backup.dumpPath, noOwner: req.noOwner, noPrivileges: req.noPrivileges });

  let swapped = false;
  try {
    enter('restoring into staging');
    await restoreIntoStaging({
      dumpPath: backup.dumpPath,
      staging,
      jobs: req.jobs,
      noOwner: req.noOwner,
      noPrivileges: req.noPrivileges,
      tocEntries: backup.tocEntries,
    });
    const restoreMs = enter('validating');
    const validation = await validateStaging({ staging, manifestPath: backup.manifestPath });
    const validateMs = enter('swapping in');
    const swap = await swapIntoPlace({ staging, target: req.target, mode: req.mode, kept: keptName(req.target, Date.now()) });
    swapped = true;
    enter('done');
    return {
      status: 'completed',
      target: req.target,
      mode: req.mode,
      backup: { label: backup.label, database: backup.database, path: backup.sourcePath, checksum: backup.kind === 'manifest' ? 'verified' : 'skipped' },
      keptPrevious: swap.keptPrevious,
      globals,
      tables: validation.tables,
      rows: validation.rows,
      jobs: req.jobs,
      warnings: [...warnings, ...validation.warnings],
      durationsMs: { verify: verifyMs, restore: restoreMs, validate: validateMs, total: Date.now() - startedMs },
    };
  } finally {
    if (!swapped) {
      enter('cleaning up');
      // Also when the workflow is being cancelled: a staging database must never be left behind.
      await cleanUp(() => dropStagingDatabase({ staging }), true);
    }
  }
}
