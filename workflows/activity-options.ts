/**
 * Activity options shared by the workflows. Long activities heartbeat: a dead worker is noticed
 * after 30 s, and a cancellation reaches them. WAIT_CANCELLATION_COMPLETED makes a cancelled
 * workflow wait until pg_dump/pg_restore are really dead and their files cleaned up (the SDK
 * default, TRY_CANCEL, would not). Short activities do not heartbeat; their startToCloseTimeout
 * bounds them.
 */
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURES } from '../common/errors.js';

const base: ActivityOptions = {
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '2m',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
};

/** Long work on the whole database: dump, verify, restore. Sized for databases of hundreds of GB. */
export const longRunning: ActivityOptions = { ...base, startToCloseTimeout: '24h', heartbeatTimeout: '30s' };

/** Small file and catalog operations. */
export const quick: ActivityOptions = {
  ...base,
  startToCloseTimeout: '10m',
  retry: { ...base.retry, maximumAttempts: 10 },
};

/**
 * The swap: a target whose clients keep reconnecting makes it fail; keep trying for about half an
 * hour (the failure message names the clients) rather than throw away a restored staging copy.
 */
export const patient: ActivityOptions = { ...quick, retry: { ...quick.retry, maximumAttempts: 30, maximumInterval: '1m' } };

/** Waiting for the server: the activity keeps its own deadline, so a few attempts cover worker crashes. */
export function waiting(waitTimeoutSeconds: number): ActivityOptions {
  return { ...base, startToCloseTimeout: `${waitTimeoutSeconds + 60}s`, heartbeatTimeout: '30s', retry: { ...base.retry, maximumAttempts: 3 } };
}
