/**
 * restoreDrill: prove the newest backup of a database restores. Restore it into a scratch database,
 * validate it against the manifest, drop the scratch database, and record the proof next to the
 * backup. A failed drill fails the workflow and notifies (through the audit's outcome report).
 */
import { defineQuery, proxyActivities, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { validateDatabaseName } from '../common/names.js';
import { drillScratchName, validateJobs } from '../common/restore-input.js';
import type { DrillResult, ResolvedBackup } from '../common/types.js';
import { longRunning, quick } from './activity-options.js';
import { waitForServer, withPinnedBackup } from './pinned-backup.js';
import { audited } from './audit.js';
import { cleanUp } from './cleanup.js';
import { phaseClock, type PhaseClock } from './phase-clock.js';
import { rejectInput } from './reject-input.js';

const { verifyChecksum, restoreIntoStaging, validateStaging } = proxyActivities<Activities>(longRunning);
const { dropStagingDatabase, recordDrillProof } = proxyActivities<Activities>(quick);

const drillProgressQuery = defineQuery<{ phase: string; phaseStartedAt: string }>('progress');

export interface DrillInput {
  database: string;
  /** pg_restore -j. Default 2. */
  jobs?: number;
}

export async function restoreDrill(input: DrillInput): Promise<DrillResult> {
  const database = rejectInput(() => validateDatabaseName(input?.database));
  const jobs = rejectInput(() => validateJobs(input.jobs));
  return audited('drill', database, () => drill(database, jobs), (r) => ({ outcome: 'completed', backupId: r.backupId }));
}

async function drill(database: string, jobs: number): Promise<DrillResult> {
  const startedMs = Date.now();
  const clock = phaseClock<string>('resolving backup');
  setHandler(drillProgressQuery, () => clock.current());
  return withPinnedBackup({ backup: 'latest', database }, (backup) => drillResolved(database, jobs, backup, clock, startedMs));
}

async function drillResolved(database: string, jobs: number, backup: ResolvedBackup, clock: PhaseClock<string>, startedMs: number): Promise<DrillResult> {
  clock.enter('verifying checksum');
  await verifyChecksum({ dumpPath: backup.dumpPath, sha256: backup.sha256!, sizeBytes: backup.sizeBytes });
  const verifyMs = clock.enter('waiting for database');
  await waitForServer();
  const scratch = drillScratchName(uuid4());
  let restoreMs = 0;
  let validateMs = 0;
  let validation;
  let failed = true;
  try {
    clock.enter('restoring into scratch database');
    await restoreIntoStaging({ dumpPath: backup.dumpPath, staging: scratch, jobs, noOwner: false, noPrivileges: false, tocEntries: backup.tocEntries });
    restoreMs = clock.enter('validating');
    validation = await validateStaging({ staging: scratch, manifestPath: backup.manifestPath });
    validateMs = clock.enter('dropping scratch database');
    failed = false;
  } finally {
    await cleanUp(() => dropStagingDatabase({ staging: scratch }), failed);
  }
  const { workflowId, runId } = workflowInfo();
  const proof = {
    backupId: backup.label,
    database,
    provenAt: new Date(Date.now()).toISOString(),
    tables: validation.tables,
    rows: validation.rows,
    warnings: validation.warnings,
    durationsMs: { verify: verifyMs, restore: restoreMs, validate: validateMs, total: Date.now() - startedMs },
    workflow: { workflowId, runId },
  };
  const { proofPath } = await recordDrillProof(proof);
  return { status: 'completed', ...proof, proofPath };
}
