/**
 * restoreDatabase: resolve the backup (any store) -> wait for the server -> check the target ->
 * [globals] -> fetch, verify and pg_restore into a staging database -> validate against the
 * manifest -> swap in. The target is touched only by the final swap; any failure or cancellation
 * before it drops the staging database and leaves the target as it was. In replace mode the
 * previous database is kept under `<target>_pre_restore_<timestamp>`.
 */
import { ApplicationFailure, defineQuery, isCancellation, patched, proxyActivities, setHandler, uuid4 } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { keptName, normalizeRestoreInput, restoreOptionsOf, stagingName, type NormalizedRestoreInput, type RestoreInput } from '../common/restore-input.js';
import { FailureType } from '../common/errors.js';
import { rootCauseDetails, rootCauseMessage, rootCauseType } from '../common/failure-message.js';
import { jsonSurface } from '../common/input-fields.js';
import type { ResolvedBackup, RestorePhase, RestoreProgress, RestoreResult } from '../common/types.js';
import { longRunning, patient, quick } from './activity-options.js';
import { audited } from './audit.js';
import { cleanUp } from './cleanup.js';
import { busyReason, runUnderDatabaseLock } from './database-lock.js';
import { phaseClock, type PhaseClock } from './phase-clock.js';
import { waitForServer, withPinnedBackup } from './pinned-backup.js';
import { rejectInput } from './reject-input.js';

const restoreProgressQuery = defineQuery<RestoreProgress>('progress');

const { restoreIntoStaging, validateStaging } = proxyActivities<Activities>(longRunning);
const { applyGlobals, checkTarget, dropStagingDatabase } = proxyActivities<Activities>(quick);
const { swapIntoPlace } = proxyActivities<Activities>(patient);

export async function restoreDatabase(input: RestoreInput, ...extra: unknown[]): Promise<RestoreResult> {
  const req = rejectInput(() => normalizeRestoreInput(input, jsonSurface, { confirmNeedsReplace: patched('confirm-needs-replace') }), { operation: 'restore', input, extra, databaseField: 'target' });
  return audited(
    'restore',
    req.target,
    async (audit) => {
      const lock = await runUnderDatabaseLock(req.target, restoreDatabase, input, audit.handedOff);
      if (lock.kind === 'holder') return restore(req);
      if (lock.kind === 'delegated') return lock.result;
      throw ApplicationFailure.nonRetryable(
        `refused: ${busyReason(req.target, lock.workflowId)}; nothing was changed. Wait for it to finish, then restore again`,
        FailureType.DatabaseBusy,
      );
    },
    (r) => ({ outcome: 'completed', backupId: r.backup.label }),
  );
}

/**
 * A restore that failed after its globals backup made roles or tablespaces: they stay on the server
 * (made for a restore that did not happen), so the failure says which, after its own cause.
 */
function withGlobalsLeft(err: unknown, globals: NonNullable<RestoreResult['globals']>): unknown {
  const named = (what: string, names: string[] = []) => (names.length ? [`${what} ${names.map((n) => JSON.stringify(n)).join(', ')}`] : []);
  const made = [...named('roles', globals.created), ...named('tablespaces', globals.tablespaces)];
  if (made.length === 0) return err;
  const left = `. Globals backup ${globals.id} made ${made.join(' and ')} for this restore first; they stay on the server (drop them if they are not wanted)`;
  // The problem alone a refusal carries (activities/failures.ts refusal) says it too: the CLI shows that one.
  const details = (rootCauseDetails(err) ?? []).map((d) => (typeof (d as { problem?: unknown })?.problem === 'string' ? { ...(d as object), problem: `${(d as { problem: string }).problem}${left}` } : d));
  return ApplicationFailure.create({ message: `${rootCauseMessage(err)}${left}`, type: rootCauseType(err) ?? 'Failed', nonRetryable: true, details }); // 'Failed': as withRootCause names an untyped one
}

async function restore(req: NormalizedRestoreInput): Promise<RestoreResult> {
  // The whole run: finding the backup (a store not answering, retried) is part of what it took.
  const startedMs = Date.now();
  const staging = stagingName(req.target, uuid4());
  const clock = phaseClock<RestorePhase>('resolving backup');
  setHandler(restoreProgressQuery, () => ({ ...clock.current(), staging }));
  return withPinnedBackup(
    { backup: req.backup, database: req.database, store: req.store, target: req.target, ...(req.mode === 'replace' && { replace: true }), options: restoreOptionsOf(req) },
    (backup) => restoreResolved(req, staging, clock, backup, startedMs),
  );
}

async function restoreResolved(req: NormalizedRestoreInput, staging: string, clock: PhaseClock<RestorePhase>, backup: ResolvedBackup, startedMs: number): Promise<RestoreResult> {
  const warnings = [...backup.warnings];
  clock.enter('waiting for database');
  await waitForServer();
  clock.enter('checking target');
  await checkTarget({ target: req.target, mode: req.mode });
  let globals: RestoreResult['globals'] = null;
  let applied: { id: string; warnings: string[] } | undefined;
  if (req.globals) {
    clock.enter('applying globals');
    const result = await applyGlobals({ globals: req.globals });
    globals = { id: result.id, created: result.created, tablespaces: result.tablespaces ?? [] };
    applied = { id: result.id, warnings: result.warnings };
    warnings.push(...result.warnings);
  }

  let swapped = false;
  try {
    clock.enter('restoring into staging');
    const restored = await restoreIntoStaging({
      backup,
      staging,
      jobs: req.jobs,
      noOwner: req.noOwner,
      noPrivileges: req.noPrivileges,
      noTablespaces: req.noTablespaces,
      ...(applied ? { globalsApplied: applied } : {}),
    });
    clock.enter('validating');
    // The manifest from the store the archive was read from: the backup's may have stopped answering since.
    const validation = await validateStaging({ staging, manifest: backup.manifestKey ? { store: restored.store ?? backup.store, key: backup.manifestKey, id: backup.label } : null });
    const validateMs = clock.enter('swapping in');
    const swappedAtMs = Date.now();
    const swap = await swapIntoPlace({ staging, stagingOid: restored.stagingOid, target: req.target, mode: req.mode, keptAtMs: swappedAtMs, kept: keptName(req.target, swappedAtMs) });
    swapped = true;
    clock.enter('done');
    return {
      status: 'completed',
      target: req.target,
      mode: req.mode,
      // `?? backup.store`: a run begun before the store read from was reported replays without it.
      backup: { label: backup.label, database: backup.database, store: restored.store ?? backup.store, checksum: backup.sha256 ? 'verified' : 'skipped' },
      keptPrevious: swap.keptPrevious,
      globals,
      tables: validation.tables,
      rows: validation.rows,
      jobs: req.jobs,
      warnings: [...warnings, ...restored.warnings, ...validation.warnings],
      durationsMs: { fetch: restored.fetchMs, restore: restored.restoreMs, validate: validateMs, total: Date.now() - startedMs },
    };
  } catch (err) {
    throw globals && !isCancellation(err) ? withGlobalsLeft(err, globals) : err;
  } finally {
    if (!swapped) {
      clock.enter('cleaning up');
      // Also when the workflow is being cancelled: a staging database must never be left behind.
      await cleanUp(() => dropStagingDatabase({ staging }), true);
    }
  }
}
