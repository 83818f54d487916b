/**
 * backupDatabase: wait for the database -> dump (streamed through SHA-256) -> verify the archive
 * -> publish (rename, .sha256, manifest) -> retention. Retention runs only after a successful
 * backup, so a streak of failures never deletes anything.
 */
import { defineQuery, proxyActivities, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { makeBackupId } from '../common/backup-id.js';
import { normalizeBackupInput } from '../common/backup-input.js';
import type { BackupInput, BackupPhase, BackupProgress, BackupResult, BackupSkipped } from '../common/types.js';
import { longRunning, quick, waiting } from './activity-options.js';
import { runUnderDatabaseLock } from './database-lock.js';
import { rejectInput } from './reject-input.js';

export const backupProgressQuery = defineQuery<BackupProgress>('progress');

const { dumpDatabase, verifyArchive } = proxyActivities<Activities>(longRunning);
const { publishBackup, applyRetention } = proxyActivities<Activities>(quick);

export async function backupDatabase(input: BackupInput): Promise<BackupResult | BackupSkipped> {
  const { database, compressLevel, waitTimeoutSeconds, retention } = rejectInput(() => normalizeBackupInput(input));
  const lock = await runUnderDatabaseLock(database, backupDatabase, input);
  if (lock.kind === 'delegated') return lock.result;
  if (lock.kind === 'busy') {
    // Not a failure: the database is being backed up (or restored) right now; retrying would only pile up.
    return { status: 'skipped', database, reason: `skipped: a backup of ${database} is already running (${lock.workflowId})` };
  }
  const startedMs = Date.now();
  const backupId = makeBackupId(database, startedMs, uuid4());
  const { workflowId, runId } = workflowInfo();

  let progress: BackupProgress = { phase: 'starting', backupId, phaseStartedAt: new Date(startedMs).toISOString() };
  setHandler(backupProgressQuery, () => progress);
  let phaseStartMs = startedMs;
  const enter = (phase: BackupPhase): number => {
    const now = Date.now();
    const previousPhaseMs = now - phaseStartMs;
    phaseStartMs = now;
    progress = { phase, backupId, phaseStartedAt: new Date(now).toISOString() };
    return previousPhaseMs;
  };

  const { waitForDatabase } = proxyActivities<Activities>(waiting(waitTimeoutSeconds));
  enter('waiting for database');
  await waitForDatabase({ database, deadlineMs: startedMs + waitTimeoutSeconds * 1000 });
  const waitMs = enter('dumping');
  const dump = await dumpDatabase({ database, backupId, compressLevel, workflow: { workflowId, runId } });
  enter('verifying');
  const verify = await verifyArchive({ database, backupId });
  enter('publishing');
  const published = await publishBackup({ database, backupId, dump, verify });
  const publishMs = enter('applying retention');
  const pruned = await applyRetention({ database, policy: retention });
  const retentionMs = enter('done');

  return {
    status: 'completed',
    backupId,
    database,
    dumpPath: published.dumpPath,
    manifestPath: published.manifestPath,
    sizeBytes: dump.sizeBytes,
    sha256: dump.sha256,
    compressLevel,
    tables: dump.tableCount,
    durationsMs: {
      wait: waitMs,
      dump: dump.durationMs,
      verify: verify.durationMs,
      publish: publishMs,
      retention: retentionMs,
      total: Date.now() - startedMs,
    },
    retention: { policy: pruned.policy, kept: pruned.kept, deleted: pruned.deleted },
  };
}
