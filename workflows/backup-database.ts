/**
 * backupDatabase: wait for the database -> dump (the archive stream into the primary store) ->
 * publish (verified in the store, manifest last) -> copies (3-2-1: each copy store filled and proven by its own
 * activity) -> retention on every store. A copy that cannot be made keeps the primary and fails
 * the run loudly; retention then does not run, and the next run fills the copy in. Retention runs
 * only after a successful backup, so a streak of failures never deletes anything.
 */
import { ApplicationFailure, defineQuery, proxyActivities, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { makeBackupId } from '../common/backup-id.js';
import { normalizeBackupInput, type BackupInput, type NormalizedBackupInput } from '../common/backup-input.js';
import { rootCauseMessage } from '../common/failure-message.js';
import { formatCompression, isEncrypted } from '../common/filters.js';
import type { BackupPhase, BackupProgress, BackupResult, BackupSkipped, RetentionResult, StoreOutcome } from '../common/types.js';
import { longRunning, quick, waiting } from './activity-options.js';
import { audited, auditBackupId } from './audit.js';
import { busyReason, runUnderDatabaseLock } from './database-lock.js';
import { phaseClock } from './phase-clock.js';
import { rejectInput, requireRetentionRule } from './reject-input.js';

const backupProgressQuery = defineQuery<BackupProgress>('progress');

const { dumpDatabase, copyBackup, applyRetention } = proxyActivities<Activities>(longRunning);
const { publishBackup } = proxyActivities<Activities>(quick);

export async function backupDatabase(input: BackupInput, ...extra: unknown[]): Promise<BackupResult | BackupSkipped> {
  const req = rejectInput(() => requireRetentionRule(normalizeBackupInput(input), 'retention'), { operation: 'backup', input, extra, databaseField: 'database' });
  return audited(
    'backup',
    req.database,
    async (audit) => {
      const lock = await runUnderDatabaseLock(req.database, backupDatabase, input, audit.handedOff);
      if (lock.kind === 'holder') return backUp(req);
      if (lock.kind === 'delegated') return lock.result;
      // Not a failure: the database is being backed up (or restored) right now; retrying would only pile up.
      return { status: 'skipped', database: req.database, reason: `skipped: ${busyReason(req.database, lock.workflowId)}` } satisfies BackupSkipped;
    },
    (r) => (r.status === 'skipped' ? { outcome: 'skipped' } : { outcome: 'completed', backupId: r.backupId, sizeBytes: r.sizeBytes }),
  );
}

async function backUp({ database, compression, waitTimeoutSeconds, retention, verify: verifyMode }: NormalizedBackupInput): Promise<BackupResult> {
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
  const dump = await dumpDatabase({ database, backupId, compression, verify: verifyMode, workflow: { workflowId, runId } });
  clock.enter('publishing');
  const published = await publishBackup({ database, backupId, dump });
  const publishMs = clock.enter('copying');

  const stores: StoreOutcome[] = [{ store: published.store, role: 'primary', status: 'stored' }];
  const copies = await Promise.all(
    published.copies.map(async (store): Promise<StoreOutcome> => {
      try {
        const { skipped } = await copyBackup({ folder: database, store });
        // Older backups whose primary archive the copy found damaged: recorded there, said here.
        return { store, role: 'copy', status: 'copied', ...(skipped?.length ? { skipped } : {}) };
      } catch (err) {
        return { store, role: 'copy', status: 'failed', reason: rootCauseMessage(err) };
      }
    }),
  );
  stores.push(...copies);
  const failedCopies = copies.filter((c) => c.status === 'failed');
  if (failedCopies.length > 0) {
    throw ApplicationFailure.create({
      message:
        `backup ${backupId} is stored in ${published.store}, but its copy to ${failedCopies.map((c) => `${c.store} failed: ${c.reason}`).join('; ')}. ` +
        'Retention did not run; the next backup makes the missing copy',
      type: 'CopyFailed',
      nonRetryable: true,
      details: [{ backupId, stores }],
    });
  }
  const copyMs = clock.enter('applying retention');
  const pruned = await applyRetention({ database, policy: retention, made: backupId });
  const retentionMs = clock.enter('done');

  return {
    status: 'completed',
    backupId,
    database,
    archiveKey: `${database}/${dump.archive.name}`,
    stores,
    sizeBytes: dump.archive.sizeBytes,
    sha256: dump.archive.sha256,
    compression: formatCompression(compression),
    encrypted: isEncrypted(dump.filters),
    verify: verifyMode,
    tables: dump.tableCount,
    durationsMs: { wait: waitMs, dump: dump.durationMs, publish: publishMs, copy: copyMs, retention: retentionMs, total: Date.now() - startedMs },
    retention: { policy: pruned.policy, deleted: pruned.stores.map((s) => ({ store: s.store, ids: s.deleted, ...(s.deletedNotListed ? { notListed: s.deletedNotListed } : {}) })), swept: pruned.stores.map((s) => ({ store: s.store, keys: s.swept })) },
    ...warningsOf(database, dump.warnings ?? [], pruned),
  };
}

/** pg_dump's warnings, and a change of server seen by retention (said once, for the first store that holds both backups). */
function warningsOf(database: string, dumpWarnings: string[], pruned: RetentionResult): { warnings?: string[] } {
  const changed = pruned.stores.find((s) => s.serverChanged);
  const c = changed?.serverChanged;
  const warnings = c
    ? [
        ...dumpWarnings,
        `backup ${c.id} is of another PostgreSQL server (system identifier ${c.systemIdentifier}) than the backup before it in ${changed!.store}, ${c.previousId} ` +
          `(system identifier ${c.previousSystemIdentifier}). After an upgrade or a move to a new server that is expected; if two servers back up "${database}" ` +
          'into this store, give each its own store (BACKUP_DIR or BACKUP_STORE): retention counts their backups together, and "latest" is whichever ran last',
      ]
    : dumpWarnings;
  return warnings.length ? { warnings } : {};
}
