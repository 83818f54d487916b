/**
 * restoreDrill: prove the newest backup of a database restores. Restore it into a scratch database
 * (fetched, verified, restored with its properties), validate it against the manifest, drop the
 * scratch database, and record the proof next to the backup. A damaged newest backup fails the
 * drill (never silently proving an older one); a failed drill fails the workflow and notifies.
 */
import { defineQuery, proxyActivities, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { normalizeDrillInput, type DrillInput } from '../common/drill-input.js';
import { drillScratchName } from '../common/restore-input.js';
import type { DrillResult, ResolvedBackup, RestoreValidation, StagingRestore } from '../common/types.js';
import { longRunning, quick } from './activity-options.js';
import { audited } from './audit.js';
import { cleanUp } from './cleanup.js';
import { phaseClock, type PhaseClock } from './phase-clock.js';
import { waitForServer, withPinnedBackup } from './pinned-backup.js';
import { rejectInput } from './reject-input.js';

const { restoreIntoStaging, validateStaging } = proxyActivities<Activities>(longRunning);
const { dropStagingDatabase, recordDrillProof } = proxyActivities<Activities>(quick);

const drillProgressQuery = defineQuery<{ phase: string; phaseStartedAt: string }>('progress');

export async function restoreDrill(input: DrillInput, ...extra: unknown[]): Promise<DrillResult> {
  const req = rejectInput(() => normalizeDrillInput(input), { operation: 'drill', input, extra, databaseField: 'database' });
  return audited(
    'drill',
    req.database,
    async () => {
      const startedMs = Date.now();
      const clock = phaseClock<string>('resolving backup');
      setHandler(drillProgressQuery, () => clock.current());
      return withPinnedBackup({ backup: 'latest', database: req.database, store: req.store }, (backup) => drill(req.jobs, backup, clock, startedMs));
    },
    (r) => ({ outcome: 'completed', backupId: r.backupId }),
  );
}

async function drill(jobs: number, backup: ResolvedBackup, clock: PhaseClock<string>, startedMs: number): Promise<DrillResult> {
  clock.enter('waiting for database');
  await waitForServer();
  const scratch = drillScratchName(uuid4());
  let restored: StagingRestore;
  let validation: RestoreValidation;
  let validateMs = 0;
  let failed = true;
  try {
    clock.enter('restoring into scratch database');
    restored = await restoreIntoStaging({ backup, staging: scratch, jobs, noOwner: false, noPrivileges: false });
    clock.enter('validating');
    validation = await validateStaging({ staging: scratch, manifest: backup.manifestKey ? { store: backup.store, key: backup.manifestKey, id: backup.label } : null });
    validateMs = clock.enter('dropping scratch database');
    failed = false;
  } finally {
    await cleanUp(() => dropStagingDatabase({ staging: scratch }), failed);
  }
  const { workflowId, runId } = workflowInfo();
  const proof = {
    backupId: backup.label,
    database: backup.database,
    // The store whose bytes were proven (a copy, when the backup's own were damaged); see restore-database.ts for `??`.
    store: restored.store ?? backup.store,
    provenAt: new Date(Date.now()).toISOString(),
    tables: validation.tables,
    rows: validation.rows,
    warnings: [...backup.warnings, ...restored.warnings, ...validation.warnings],
    durationsMs: { fetch: restored.fetchMs, restore: restored.restoreMs, validate: validateMs, total: Date.now() - startedMs },
    workflow: { workflowId, runId },
  };
  const recording = await recordDrillProof(proof);
  return { status: 'completed', ...proof, proofRecorded: recording.recorded, ...(recording.recorded ? {} : { proofNotRecorded: recording.why }) };
}
