import { ApplicationFailure } from '@temporalio/workflow';
import { rootCauseDetails, rootCauseMessage, rootCauseType } from '../common/failure-message.js';

/**
 * A failure whose own message is the root cause. Temporal shows a workflow's failure by its top
 * message: without this, the UI says "Activity task failed" or "Child Workflow execution failed"
 * and the reason hides levels below. The chain stays attached as the cause.
 */
export function withRootCause(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure && !(err.cause instanceof Error)) return err; // already the root
  return ApplicationFailure.create({
    message: rootCauseMessage(err),
    type: rootCauseType(err) ?? 'Failed',
    nonRetryable: true,
    details: rootCauseDetails(err),
    cause: err instanceof Error ? err : undefined,
  });
}
