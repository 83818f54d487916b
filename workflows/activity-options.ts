/**
 * Activity options shared by the workflows. Every activity heartbeats (activities/index.ts), so a
 * worker that dies in any step is noticed after the 30 s heartbeat timeout, and a cancellation
 * reaches the activity within the worker's heartbeat throttle (3 s). WAIT_CANCELLATION_COMPLETED
 * makes a cancelled workflow wait until the tools are really dead and their output cleaned up
 * (the SDK default, TRY_CANCEL, would not). Start-to-close timeouts only bound a step that hangs
 * while still heartbeating.
 */
import { ActivityCancellationType, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURES } from '../common/errors.js';

const base: ActivityOptions = {
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  heartbeatTimeout: '30s',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '2m',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
};

/** Long work on the whole database: dump, restore, copies. Sized for databases of hundreds of GB. */
export const longRunning: ActivityOptions = { ...base, startToCloseTimeout: '24h' };

/** Catalog, store and file operations: seconds. */
export const quick: ActivityOptions = { ...base, startToCloseTimeout: '10m', retry: { ...base.retry, maximumAttempts: 10 } };

/**
 * The swap: a target whose clients keep reconnecting makes it fail; keep trying for about half an
 * hour (the failure message names the clients) rather than throw away a restored staging copy.
 */
export const patient: ActivityOptions = { ...quick, retry: { ...quick.retry, maximumAttempts: 30, maximumInterval: '1m' } };

/** Waiting for the server: the activity keeps its own deadline, so a few attempts cover worker crashes. */
export function waiting(waitTimeoutSeconds: number): ActivityOptions {
  return { ...base, startToCloseTimeout: `${waitTimeoutSeconds + 60}s`, retry: { ...base.retry, maximumAttempts: 3 } };
}

/**
 * The outcome report runs as local activities, in the worker that runs the workflow: no round
 * trip through the server at the end of every run. Metrics are recorded once, never retried, so a
 * run is never counted twice.
 */
export const once: LocalActivityOptions = { startToCloseTimeout: '10s', retry: { maximumAttempts: 1 } };

/**
 * The webhook: a few quick attempts (3.5 s of back-off in all, under the SDK's 5 s warning for a
 * long workflow task); one that is down must not hold the run's result for long.
 */
export const notifying: LocalActivityOptions = { startToCloseTimeout: '15s', retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumAttempts: 4 } };
