/**
 * A run started without --wait is still watched through its first steps: the checks that refuse it
 * (a target that exists without --replace, a database or store that is not there, a backup that
 * cannot be decrypted here) run on the worker within a second or two of the start. Watching them
 * makes such a refusal the first thing the person sees, with exit code 1, instead of a "started"
 * whose failure only `pgkeeper history` would show. Once the run is past them, or they take longer
 * than a few seconds (a database server not answering yet, which the run waits for), the CLI says
 * "started" and leaves the run to go on.
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../common/config.js';
import { stoppedWaiting } from './progress.js';
import { announceStart } from './start-workflow.js';

/** Long enough for the checks on a loaded machine; short enough that a person is not left waiting. */
const WATCH_MS = 10_000;
const POLL_MS = 250;

/** `promise`'s value, or undefined once `ms` pass first. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, ms))));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

type FirstSteps = { kind: 'past' } | { kind: 'over' } | { kind: 'still'; phase: string };

/**
 * Watches `handle` until its progress query gives a phase outside `checking` (the phases in which
 * it may still refuse), it closes, or `watchMs` passes. A run that failed meanwhile throws its
 * WorkflowFailedError. Polls with describe, not a long poll, so nothing is left waiting on
 * Temporal when the CLI exits; Temporal not answering just ends the watch.
 */
async function watchFirstSteps(handle: WorkflowHandle, checking: ReadonlySet<string>, watchMs: number): Promise<FirstSteps> {
  const deadline = Date.now() + watchMs;
  let phase: string | undefined;
  try {
    for (;;) {
      if ((await handle.describe()).status.name !== 'RUNNING') {
        await handle.result(); // a run already over: returns, or throws its failure, at once
        return { kind: 'over' };
      }
      // No answer yet (its first workflow task not done, a lock waited for, a worker slow to
      // answer queries): still starting. Not waited for past the watch.
      phase = (await within(handle.query<{ phase: string }>('progress').catch(() => undefined), deadline - Date.now()))?.phase ?? phase;
      if (phase !== undefined && !checking.has(phase)) return { kind: 'past' };
      if (Date.now() >= deadline) return { kind: 'still', phase: phase ?? 'starting' };
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw err;
    return { kind: 'still', phase: phase ?? 'starting' };
  }
}

/**
 * Says "started" (with its UI link) once the run is past its `checking` phases; a refusal in them
 * is thrown as `failed` makes it. What the run is doing when the watch ends early is said too.
 */
export async function announceOnceChecked(
  config: Config,
  what: string,
  handle: WorkflowHandle & { firstExecutionRunId: string },
  checking: ReadonlySet<string>,
  failed: (err: unknown) => Error,
  watchMs = WATCH_MS,
): Promise<void> {
  // Ctrl-C stops the watching, not the run (already started): it is said, with its link.
  const ownsInterrupt = process.listenerCount('SIGINT') === 0;
  const interrupted = () => {
    announceStart(config, what, handle);
    process.stderr.write(`${stoppedWaiting(handle.workflowId)}\n`);
    process.exit(130);
  };
  if (ownsInterrupt) process.once('SIGINT', interrupted);
  const steps = await watchFirstSteps(handle, checking, watchMs)
    .catch((err: unknown) => {
      throw failed(err);
    })
    .finally(() => process.removeListener('SIGINT', interrupted));
  announceStart(config, what, handle);
  if (steps.kind === 'still') process.stdout.write(`  now       ${steps.phase} (it goes on: the ui link, or \`pgkeeper history\`, tells how it ends)\n`);
  if (steps.kind === 'over') process.stdout.write('  done      already (`pgkeeper history` shows it)\n');
}
