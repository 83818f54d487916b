/**
 * The audit trail of a run: search attributes set at start and updated with the backup id and
 * outcome, and one outcome report at the end (metrics, and a webhook on failure). A report that
 * cannot be delivered never fails the run itself.
 */
import {
  isCancellation,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { rootCauseMessage } from '../common/failure-message.js';
import { PGK_BACKUP_ID, PGK_DATABASE, PGK_OPERATION, PGK_OUTCOME, PGK_STARTED_BY, type Operation, type Outcome } from '../common/search-attributes.js';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

const { reportOutcome } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  // A few quick attempts: a webhook that is down must not hold the run's result for long.
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 4 },
});

const SCHEDULED_BY = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

/** A run started by a schedule, directly or through a parent the schedule started. */
function startedBy(): 'schedule' | 'manual' {
  const info = workflowInfo();
  if (info.typedSearchAttributes.get(SCHEDULED_BY)) return 'schedule';
  return info.parent?.workflowId.startsWith('pgkeeper-scheduled:') ? 'schedule' : 'manual';
}

export interface Summary {
  outcome: Outcome;
  backupId?: string;
  sizeBytes?: number;
}

export async function audited<R>(operation: Operation, database: string, body: () => Promise<R>, summarize: (result: R) => Summary): Promise<R> {
  const startedMs = Date.now();
  const { workflowId, runId } = workflowInfo();
  upsertSearchAttributes([
    { key: PGK_DATABASE, value: database },
    { key: PGK_OPERATION, value: operation },
    { key: PGK_OUTCOME, value: 'running' },
    { key: PGK_STARTED_BY, value: startedBy() },
  ]);
  const report = async (summary: Summary, error?: string) => {
    try {
      await reportOutcome({ operation, database, workflowId, runId, durationMs: Date.now() - startedMs, ...summary, ...(error ? { error } : {}) });
    } catch {
      // The webhook or metrics being down is not the backup failing: the outcome stands.
    }
  };
  try {
    const result = await body();
    const summary = summarize(result);
    upsertSearchAttributes([{ key: PGK_OUTCOME, value: summary.outcome }, ...(summary.backupId ? [{ key: PGK_BACKUP_ID, value: summary.backupId }] : [])]);
    await report(summary);
    return result;
  } catch (err) {
    const outcome = isCancellation(err) ? 'cancelled' : 'failed';
    upsertSearchAttributes([{ key: PGK_OUTCOME, value: outcome }]);
    if (outcome === 'failed') await report({ outcome }, rootCauseMessage(err));
    throw err;
  }
}

/** Records the backup id as soon as it is known, so a running or failed backup can be found by it. */
export function auditBackupId(backupId: string): void {
  upsertSearchAttributes([{ key: PGK_BACKUP_ID, value: backupId }]);
}
