/**
 * The audit trail of a run: search attributes set at start and updated with the backup id and
 * outcome, and one outcome report at the end (metrics once, and a webhook on failure). A run that
 * hands its work to the database's lock holder (started from the UI or a schedule) carries the same
 * search attributes, so the engineer finds the run they started, but reports nothing itself: the
 * holder does. A report that cannot be delivered never fails the run itself. A failure leaves the
 * run with its root cause as the top message.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { CancellationScope, CancelledFailure, isCancellation, proxyLocalActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { rootCauseMessage } from '../common/failure-message.js';
import { PGK_BACKUP_ID, PGK_DATABASE, PGK_OPERATION, PGK_OUTCOME, PGK_STARTED_BY, type Operation, type Outcome } from '../common/search-attributes.js';
import { notifying, once } from './activity-options.js';
import { withRootCause } from './root-cause.js';

const { recordOutcomeMetrics } = proxyLocalActivities<Activities>(once);
const { notifyOutcome } = proxyLocalActivities<Activities>(notifying);

const SCHEDULED_BY = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

/** A run started by a schedule, directly or through a parent the schedule started. */
export function startedBy(): 'schedule' | 'manual' {
  const info = workflowInfo();
  if (info.typedSearchAttributes.get(SCHEDULED_BY)) return 'schedule';
  return info.parent?.workflowId.startsWith('pgkeeper-scheduled') ? 'schedule' : 'manual';
}

export interface Summary {
  outcome: Outcome;
  backupId?: string;
  sizeBytes?: number;
}

export interface Audit {
  /** This run handed its work to another run, which reports the outcome. */
  handedOff(): void;
}

export async function audited<R>(operation: Operation, database: string, body: (audit: Audit) => Promise<R>, summarize: (result: R) => Summary): Promise<R> {
  const startedMs = Date.now();
  const { workflowId, runId } = workflowInfo();
  let reports = true;
  upsertSearchAttributes([
    { key: PGK_DATABASE, value: database },
    { key: PGK_OPERATION, value: operation },
    { key: PGK_OUTCOME, value: 'running' },
    { key: PGK_STARTED_BY, value: startedBy() },
  ]);
  const report = async (summary: Summary, error?: string) => {
    if (!reports) return;
    const outcome = { operation, database, workflowId, runId, durationMs: Date.now() - startedMs, ...summary, ...(error ? { error } : {}) };
    // The webhook or metrics being down is not the backup failing: the outcome stands.
    await recordOutcomeMetrics(outcome).catch(() => undefined);
    await notifyOutcome(outcome).catch(() => undefined);
  };
  try {
    const result = await body({ handedOff: () => (reports = false) });
    const summary = summarize(result);
    upsertSearchAttributes([{ key: PGK_OUTCOME, value: summary.outcome }, ...(summary.backupId ? [{ key: PGK_BACKUP_ID, value: summary.backupId }] : [])]);
    await report(summary);
    return result;
  } catch (err) {
    // Cancelled while a step could not hear it (its worker dead, so the step timed out instead):
    // the person's cancel is the outcome, not the timeout that followed from it.
    const cancelled = isCancellation(err) || CancellationScope.current().consideredCancelled;
    const outcome = cancelled ? 'cancelled' : 'failed';
    upsertSearchAttributes([{ key: PGK_OUTCOME, value: outcome }]);
    if (cancelled) throw isCancellation(err) ? err : new CancelledFailure(`cancelled (${rootCauseMessage(err)})`);
    await report({ outcome }, rootCauseMessage(err));
    throw withRootCause(err);
  }
}

/** Records the backup id as soon as it is known, so a running or failed backup can be found by it. */
export function auditBackupId(backupId: string): void {
  upsertSearchAttributes([{ key: PGK_BACKUP_ID, value: backupId }]);
}
