import { CancellationScope, log } from '@temporalio/workflow';

/**
 * Runs a cleanup step even while the workflow is being cancelled. When the work itself failed,
 * a failing cleanup is logged and the original error is kept: it is the one the user must see.
 */
export async function cleanUp(step: () => Promise<unknown>, workFailed: boolean): Promise<void> {
  try {
    await CancellationScope.nonCancellable(step);
  } catch (err) {
    if (!workFailed) throw err;
    log.warn('cleanup after a failure failed too', { error: String(err) });
  }
}
