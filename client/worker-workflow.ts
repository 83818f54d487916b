/**
 * Short workflows the CLI runs to ask the worker something (what the stores hold), so the CLI
 * needs access to Temporal only. Fails fast, in one line, when no worker polls the task queue.
 */
import { randomUUID } from 'node:crypto';
import { TimeoutFailure, WorkflowFailedError, type Client, type Workflow, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import { DEFAULT_TASK_QUEUE, type Config } from '../common/config.js';
import { CliError } from './cli-error.js';

/** temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW */
const WORKFLOW_TASK_QUEUE = 1;

/** temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING */
const WORKFLOW_RUNNING = 1;

/** How long a question may wait for a worker to answer it. */
const ASK_TIMEOUT_MS = 120_000;
/** A question no worker has picked up by then is worth a word: the waiting would otherwise be silent. */
const UNANSWERED_HINT_MS = 10_000;
/**
 * A question no worker has taken up by then never will be: a live worker's open poll takes a new
 * task within milliseconds, so the pollers Temporal lists have stopped, frozen or lost their
 * connection (it lists a worker killed a moment ago for minutes). Giving up then, not after the
 * whole two minutes, is what an on-call person asking `status` in an incident needs.
 */
const UNTAKEN_MS = 30_000;

const inWords = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);

const startWorker = '`pgkeeper worker`, or `npm run up`';

/** No worker polls the task queue. */
export class NoWorker extends CliError {}

/**
 * Fails unless a worker polls the task queue, after waiting up to `graceMs` for one: a worker
 * started a moment ago (a script's `pgkeeper worker &`, `npm run up`) polls within that.
 */
export async function requireWorker(client: Client, config: Config, graceMs = 5_000): Promise<void> {
  const queue = config.temporal.taskQueue;
  const polled = async (name: string) =>
    Boolean((await client.workflowService.describeTaskQueue({ namespace: config.temporal.namespace, taskQueue: { name }, taskQueueType: WORKFLOW_TASK_QUEUE })).pollers?.length);
  const deadline = Date.now() + graceMs;
  for (;;) {
    if (await polled(queue)) return;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  // A queue mistyped (or one TASK_QUEUE left set) while a worker polls the default one: say so.
  const atDefault = queue !== DEFAULT_TASK_QUEUE && (await polled(DEFAULT_TASK_QUEUE)) ? ` (one polls "${DEFAULT_TASK_QUEUE}": is that the queue you meant?)` : '';
  throw new NoWorker(`no pgkeeper worker polls task queue "${queue}" on ${config.temporal.address}${atDefault}: start one (${startWorker}), or pick the queue with --queue / TASK_QUEUE`);
}

/**
 * Whether a worker has taken the run up: done a first workflow task (the listing's activity is
 * then pending), or the run is over. A task merely handed out proves nothing: a frozen worker's
 * open poll is handed it too, and keeps it until it times out. A question Temporal cannot describe
 * just now counts as taken: only a clear "nobody" ends the wait early.
 */
async function takenUp(handle: WorkflowHandle): Promise<boolean> {
  const { raw } = await handle.describe().catch(() => ({ raw: undefined }));
  if (!raw) return true;
  return (raw.pendingActivities ?? []).length > 0 || raw.workflowExecutionInfo?.status !== WORKFLOW_RUNNING;
}

/** The start of the line said when no worker has taken `what` up after 10 s. */
const noneTookUp = (queue: string, what: string) =>
  `waiting for a worker on task queue "${queue}": none has taken ${what} up in ${UNANSWERED_HINT_MS / 1000} s (Temporal lists one: it may have stopped or lost its connection a moment ago)`;

/**
 * For a run the caller waits on: one line, given to `say`, when no worker has worked on it after
 * 10 s (Temporal lists a worker that stopped a moment ago for minutes), where the wait would
 * otherwise say nothing. The run stays queued for the next worker, and the caller goes on waiting.
 * Returns what stops the watch.
 */
export function sayIfUntaken(handle: WorkflowHandle, queue: string, say: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): () => void {
  const timer = setTimeout(() => {
    void workedOn(handle).then((worked) => {
      if (!worked) say(`${noneTookUp(queue, handle.workflowId)}; it starts once a worker polls the queue (${startWorker}). Ctrl-C stops the waiting, not the run`);
    });
  }, UNANSWERED_HINT_MS);
  timer.unref();
  return () => clearTimeout(timer);
}

/** Whether a worker has done a workflow task of the run (between two activities, none is pending), or it is over. */
async function workedOn(handle: WorkflowHandle): Promise<boolean> {
  if (await takenUp(handle)) return true;
  const history = await handle.fetchHistory().catch(() => undefined);
  return !history || (history.events ?? []).some((e) => e.workflowTaskCompletedEventAttributes);
}

/** A wait that does not keep the process alive once the question is answered. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** A question no worker answered in time, though one polls the queue (stopped a moment ago, frozen, or older than this CLI). */
export class NoAnswer extends CliError {}

/**
 * Runs `workflow(input)` on the worker's queue and returns its result, within two minutes. A worker
 * that stopped a moment ago, froze or lost its connection can still be listed as polling: a
 * question no worker has taken up after 10 s gets a line on stderr (`hint: false`: the caller
 * says what it likes instead), one still untaken after 30 s is given up (NoAnswer), and so is one
 * not answered within the timeout.
 */
export async function askWorker<W extends Workflow>(
  client: Client,
  config: Config,
  type: string,
  input: Parameters<W>[0],
  { timeoutMs = ASK_TIMEOUT_MS, hint = true, workerGraceMs }: { timeoutMs?: number; hint?: boolean; workerGraceMs?: number } = {},
): Promise<Awaited<ReturnType<W>>> {
  await requireWorker(client, config, workerGraceMs);
  const queue = config.temporal.taskQueue;
  const handle = await client.workflow.start<W>(type, {
    args: input === undefined ? [] : [input],
    taskQueue: queue,
    workflowId: `pgkeeper-ask:${queue}:${randomUUID()}`,
    workflowExecutionTimeout: timeoutMs,
  } as unknown as WorkflowStartOptions<W>);
  const startedMs = Date.now();
  let answered = false;
  let gaveUp: NoAnswer | undefined;
  const result = handle.result() as Promise<Awaited<ReturnType<W>>>;
  result.catch(() => undefined); // a question given up below is terminated: its failure is not the news
  // Rejects (NoAnswer) when no worker takes the question up in time; never resolves otherwise.
  const untaken = new Promise<never>((_, reject) => {
    void (async () => {
      await sleep(UNANSWERED_HINT_MS);
      if (answered || (await takenUp(handle))) return;
      const givesUpMs = Math.min(UNTAKEN_MS, timeoutMs);
      if (hint) process.stderr.write(`${noneTookUp(queue, 'this')}; giving up at ${inWords(givesUpMs)} unless one does\n`);
      while (Date.now() - startedMs < givesUpMs) {
        await sleep(1_000);
        if (answered || (await takenUp(handle))) return;
      }
      if (givesUpMs >= timeoutMs) return; // the run's own timeout says it
      gaveUp = new NoAnswer(
        `no pgkeeper worker took this up within ${inWords(givesUpMs)} on task queue "${queue}", though Temporal lists one polling it (a worker that stopped, froze or lost its connection stays listed for minutes): start one (${startWorker}), or pick the queue with --queue / TASK_QUEUE`,
      );
      // Not left for a worker that comes back to answer to nobody.
      await handle.terminate('no worker took the question up').catch(() => undefined);
      reject(gaveUp);
    })();
  });
  try {
    return await Promise.race([result, untaken]);
  } catch (err) {
    if (gaveUp) throw gaveUp; // not the termination that follows from it, if that is heard first
    if (err instanceof WorkflowFailedError && err.cause instanceof TimeoutFailure) {
      throw new NoAnswer(`no pgkeeper worker answered on task queue "${queue}" within ${inWords(timeoutMs)}: start one (${startWorker}), or pick the queue with --queue / TASK_QUEUE`);
    }
    throw err;
  } finally {
    answered = true;
  }
}
