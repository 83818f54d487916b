/**
 * backupDatabase: wait for the database -> dump (streamed through SHA-256) -> verify the archive
 * -> publish (rename, .sha256, manifest) -> retention. Retention runs only after a successful
 * backup, so a streak of failures never deletes anything.
 */
import { defineQuery, proxyActivities, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { makeBackupId } from '../common/backup-id.js';
import { normalizeBackupInput, type NormalizedBackupInput } from '../common/backup-input.js';
import type { BackupInput, BackupPhase, BackupProgress, BackupResult, BackupSkipped } from '../common/types.js';
import { longRunning, quick, waiting } from './activity-options.js';
import { audited, auditBackupId } from './audit.js';
import { runUnderDatabaseLock } from './database-lock.js';
import { phaseClock } from './phase-clock.js';
import { rejectInput } from './reject-input.js';

const backupProgressQuery = defineQuery<BackupProgress>('progress');

const { dumpDatabase, verifyArchive } = proxyActivities<Activities>(longRunning);
const { publishBackup, applyRetention } = proxyActivities<Activities>(quick);

export async function backupDatabase(input: BackupInput): Promise<BackupResult | BackupSkipped> {
  const req = rejectInput(() => normalizeBackupInput(input));
  const lock = await runUnderDatabaseLock(req.database, backupDatabase, input);
  if (lock.kind === 'delegated') return lock.result;
  if (lock.kind === 'busy') {
    // Not a failure: the database is being backed up (or restored) right now; retrying would only
    // pile up. Still audited, so a lock held for too long shows in history and metrics.
    const skipped: BackupSkipped = { status: 'skipped', database: req.database, reason: `skipped: a backup of ${req.database} is already running (${lock.workflowId})` };
    return audited('backup', req.database, async () => skipped, () => ({ outcome: 'skipped' }));
  }
  return audited('backup', req.database, () => backUp(req), (r) => ({ outcome: 'completed', backupId: r.backupId, sizeBytes: r.sizeBytes }));
}

async function backUp({ database, compressLevel, waitTimeoutSeconds, retention, verify: verifyMode }: NormalizedBackupInput): Promise<BackupResult> {
  const startedMs = Date.now();
  const backupId = makeBackupId(database, startedMs, uuid4());
  auditBackupId(backupId);
  const { workflowId, runId } = workflowInfo();
  const clock = phaseClock<BackupPhase>('starting');
  setHandler(backupProgressQuery, () => ({ ...clock.current(), backupId }));

  const { waitForDatabase } = proxyActivities<Activities>(waiting(waitTimeoutSeconds));
  clock.enter('waiting for database');
  await waitForDatabase({ database, deadlineMs: startedMs + waitTimeoutSeconds * 1000 });
  const waitMs = clock.enter('dumping');
  const dump = await dumpDatabase({ database, backupId, compressLevel, fullVerify: verifyMode === 'full', workflow: { workflowId, runId } });
  clock.enter('verifying');
  const verify = await verifyArchive({ database, backupId });
  clock.enter('publishing');
  const published = await publishBackup({ database, backupId, dump, verify });
  const publishMs = clock.enter('applying retention');
  const pruned = await applyRetention({ database, policy: retention });
  const retentionMs = clock.enter('done');

  return {
    status: 'completed',
    backupId,
    database,
    dumpPath: published.dumpPath,
    manifestPath: published.manifestPath,
    sizeBytes: dump.sizeBytes,
    sha256: dump.sha256,
    compressLevel,
    verify: verifyMode,
    tables: dump.tableCount,
    durationsMs: { wait: waitMs, dump: dump.durationMs, verify: verify.durationMs, publish: publishMs, retention: retentionMs, total: Date.now() - startedMs },
    retention: { policy: pruned.policy, kept: pruned.kept, deleted: pruned.deleted },
  };
}
