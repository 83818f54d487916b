/**
 * Short workflows the CLI runs to ask the worker something (what the stores hold), so the CLI
 * needs access to Temporal only. Fails fast, in one line, when no worker polls the task queue.
 */
import { randomUUID } from 'node:crypto';
import { TimeoutFailure, WorkflowFailedError, type Client, type Workflow, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import type { Config } from '../common/config.js';
import { CliError } from './cli-error.js';

/** temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW */
const WORKFLOW_TASK_QUEUE = 1;
/** temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED */
export const ACTIVITY_STARTED = 2;

/** How long a question may wait for a worker to answer it. */
const ASK_TIMEOUT_MS = 120_000;
/** A question no worker has picked up by then is worth a word: the waiting would otherwise be silent. */
const UNANSWERED_HINT_MS = 10_000;

const inWords = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);

const startWorker = '`pgkeeper worker`, or `npm run up`';

/**
 * Fails unless a worker polls the task queue, after waiting up to `graceMs` for one: a worker
 * started a moment ago (a script's `pgkeeper worker &`, `npm run up`) polls within that.
 */
export async function requireWorker(client: Client, config: Config, graceMs = 5_000): Promise<void> {
  const queue = config.temporal.taskQueue;
  const deadline = Date.now() + graceMs;
  for (;;) {
    const { pollers } = await client.workflowService.describeTaskQueue({ namespace: config.temporal.namespace, taskQueue: { name: queue }, taskQueueType: WORKFLOW_TASK_QUEUE });
    if (pollers?.length) return;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new CliError(`no pgkeeper worker polls task queue "${queue}" on ${config.temporal.address}: start one (${startWorker}), or pick the queue with --queue / TASK_QUEUE`);
}

/** Whether a worker is at work on the run: an activity of it (the listing) has started. */
async function working(handle: WorkflowHandle): Promise<boolean> {
  const { raw } = await handle.describe();
  return (raw.pendingActivities ?? []).some((a) => a.state === ACTIVITY_STARTED);
}

/** A question no worker answered in time, though one polls the queue (stopped a moment ago, frozen, or older than this CLI). */
export class NoAnswer extends CliError {}

/**
 * Runs `workflow(input)` on the worker's queue and returns its result, within two minutes. A worker
 * that stopped a moment ago, froze or lost its connection can still be listed as polling: a
 * question no worker is at work on after 10 s gets a line on stderr (`hint: false`: the caller
 * says what it likes instead), and one that times out says that no worker answered (NoAnswer).
 */
export async function askWorker<W extends Workflow>(
  client: Client,
  config: Config,
  type: string,
  input: Parameters<W>[0],
  { timeoutMs = ASK_TIMEOUT_MS, hint = true }: { timeoutMs?: number; hint?: boolean } = {},
): Promise<Awaited<ReturnType<W>>> {
  await requireWorker(client, config);
  const queue = config.temporal.taskQueue;
  const handle = await client.workflow.start<W>(type, {
    args: input === undefined ? [] : [input],
    taskQueue: queue,
    workflowId: `pgkeeper-ask:${queue}:${randomUUID()}`,
    workflowExecutionTimeout: timeoutMs,
  } as unknown as WorkflowStartOptions<W>);
  const waiting = hint
    ? setTimeout(() => {
        void working(handle).then(
          (yes) => yes || process.stderr.write(`waiting for a worker on task queue "${queue}": none has taken this up in ${UNANSWERED_HINT_MS / 1000} s (Temporal lists one: it may have stopped or lost its connection a moment ago); giving up after ${inWords(timeoutMs)}\n`),
          () => undefined,
        );
      }, UNANSWERED_HINT_MS)
    : undefined;
  try {
    return (await handle.result()) as Awaited<ReturnType<W>>;
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof TimeoutFailure) {
      throw new NoAnswer(`no pgkeeper worker answered on task queue "${queue}" within ${inWords(timeoutMs)}: start one (${startWorker}), or pick the queue with --queue / TASK_QUEUE`);
    }
    throw err;
  } finally {
    clearTimeout(waiting);
  }
}
