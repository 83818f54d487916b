/**
 * applyRetention (workflow): retention on its own, e.g. after changing a policy (`pgkeeper prune`).
 * Runs under the database's lock, so it never deletes while a backup of that database publishes.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { validateRetentionPolicy } from '../common/backup-input.js';
import { validateDatabaseName } from '../common/names.js';
import type { RetentionPolicy } from '../common/retention-plan.js';
import type { RetentionResult } from '../common/types.js';
import { quick } from './activity-options.js';
import { audited } from './audit.js';
import { runUnderDatabaseLock } from './database-lock.js';
import { rejectInput } from './reject-input.js';

const { applyRetention: pruneBackups } = proxyActivities<Activities>(quick);

export interface ApplyRetentionInput {
  database: string;
  /** Default: maxAgeDays = the worker's RETENTION_DAYS. */
  policy?: RetentionPolicy;
  /** Plan only; delete nothing. */
  dryRun?: boolean;
}

export type ApplyRetentionResult = (RetentionResult & { status: 'completed'; dryRun: boolean }) | { status: 'skipped'; reason: string };

export async function applyRetention(input: ApplyRetentionInput): Promise<ApplyRetentionResult> {
  const database = rejectInput(() => validateDatabaseName(input?.database));
  const policy = input.policy === undefined ? undefined : rejectInput(() => validateRetentionPolicy(input.policy));
  const lock = await runUnderDatabaseLock(database, applyRetention, input);
  if (lock.kind === 'delegated') return lock.result;
  if (lock.kind === 'busy') return { status: 'skipped', reason: `skipped: another pgkeeper operation on ${database} is running (${lock.workflowId})` };
  const dryRun = input.dryRun === true;
  return audited(
    'retention',
    database,
    async () => ({ status: 'completed' as const, dryRun, ...(await pruneBackups({ database, policy, dryRun })) }),
    () => ({ outcome: 'completed' }),
  );
}
