/**
 * An activity that fails while its worker is stopping is retried by the next worker, whatever the
 * failure says. The signal that stops the worker often reaches its tools too: a terminal's Ctrl-C
 * goes to the whole foreground process group, systemd's default KillMode to the whole unit. Then
 * pg_restore says "terminated by user", or tee is "killed by SIGINT", and a restore would fail for
 * good over a worker being stopped on purpose. Activities cancelled by the shutdown itself (after
 * the grace time) already end as cancelled, and are left as they are.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory, State } from '@temporalio/worker';
import { FailureType } from '../common/errors.js';

const STOPPING: readonly State[] = ['STOPPING', 'DRAINING', 'DRAINED', 'STOPPED'];

/** `state`: the worker's state, asked when an activity fails. */
export function retryWhenStopping(state: () => State): ActivityInterceptorsFactory {
  return () => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (err) {
          const current = state();
          if (!STOPPING.includes(current) || Context.current().cancellationSignal.aborted) throw err;
          throw ApplicationFailure.create({
            message: `${(err as Error).message}; the worker was stopping (the signal that stops it reaches its tools too when sent to its whole process group, as a terminal's Ctrl-C is), so the next worker retries this`,
            type: FailureType.WorkerStopping,
            nonRetryable: false,
            cause: err instanceof Error ? err : undefined,
          });
        }
      },
    },
  });
}
