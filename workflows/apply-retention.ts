/**
 * applyRetention (workflow): retention on its own, e.g. after changing a policy (`pgkeeper prune`),
 * on every store. Runs under the database's lock, so it never deletes while a backup of that
 * database publishes.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import { FailureType } from '../common/errors.js';
import type { Activities } from '../activities/index.js';
import { normalizeRetentionInput, type ApplyRetentionInput } from '../common/retention-input.js';
import type { RetentionResult } from '../common/types.js';
import { longRunning } from './activity-options.js';
import { audited } from './audit.js';
import { busyReason, runUnderDatabaseLock } from './database-lock.js';
import { rejectInput, requireRetentionRule } from './reject-input.js';

// Long: before deleting, it reads the newest backup of each store back (activities/apply-retention.ts).
const { applyRetention: pruneBackups } = proxyActivities<Activities>(longRunning);

export type ApplyRetentionResult = (RetentionResult & { status: 'completed'; dryRun: boolean }) | { status: 'skipped'; reason: string };

export async function applyRetention(input: ApplyRetentionInput, ...extra: unknown[]): Promise<ApplyRetentionResult> {
  const req = rejectInput(() => requireRetentionRule(normalizeRetentionInput(input), 'policy'), { operation: 'retention', input, extra, databaseField: 'database' });
  return audited(
    'retention',
    req.database,
    async (audit): Promise<ApplyRetentionResult> => {
      const lock = await runUnderDatabaseLock(req.database, applyRetention, input, audit.handedOff);
      if (lock.kind === 'delegated') return lock.result;
      if (lock.kind === 'busy') return { status: 'skipped', reason: `skipped: ${busyReason(req.database, lock.workflowId)}` };
      // A store that cannot be read is named at once, not retried for minutes under the database's lock.
      const result = await pruneBackups({ database: req.database, policy: req.policy, dryRun: req.dryRun, unreachable: 'report' });
      const down = result.unreachable ?? [];
      if (down.length > 0 && !req.dryRun) {
        const ran = result.stores.map((s) => `${s.store} (deleted ${s.deleted.length + (s.deletedNotListed ?? 0)})`).join(', ');
        // What was done on the stores that answered travels in the details (`prune --json` prints it).
        throw ApplicationFailure.create({
          message: `${down.map((d) => d.reason).join('; ')}. Retention did not run on ${down.map((d) => d.store).join(', ')}${ran ? `; it ran on ${ran}` : ''}: run prune again once it can be read`,
          type: FailureType.StoreUnavailable,
          nonRetryable: true,
          details: [result],
        });
      }
      return { status: 'completed', dryRun: req.dryRun, ...result };
    },
    (r) => ({ outcome: r.status === 'completed' && r.dryRun ? 'dry-run' : r.status }),
  );
}
