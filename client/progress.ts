/**
 * Progress of a running workflow while the CLI waits: the workflow's `progress` query gives the
 * phase; the running activity's last heartbeat gives work done (bytes or archive items) and, when
 * known, the total. In a terminal a live bar (cli-progress), asked for every second; otherwise a
 * plain line per phase change and every 10 s, for logs and CI, asked for every 2 s: each poll is a
 * query the worker answers and a describe the server answers, while the backup needs the CPU.
 */
import { defaultPayloadConverter, type WorkflowHandle } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time.js';
import cliProgress from 'cli-progress';
import { count, formatBytes } from './format.js';
import { sayIfUntaken } from './worker-workflow.js';

/** temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED */
const ACTIVITY_STARTED = 2;

interface Beat {
  bytes?: number;
  totalBytes?: number;
  items?: number;
  totalItems?: number;
  /** waitForDatabase: why the server does not answer yet. */
  lastError?: string;
}

export interface ProgressSnapshot {
  phase: string;
  done?: number;
  total?: number;
  unit: 'bytes' | 'items';
  /** Why the step is not getting on: the server not answering yet, or the failure of the attempt before. */
  lastError?: string;
}

/** What the workflow is doing now, from its progress query and its running activity. */
export async function progressSnapshot(handle: WorkflowHandle): Promise<ProgressSnapshot | undefined> {
  try {
    const [progress, description] = await Promise.all([handle.query<{ phase: string }>('progress'), handle.describe()]);
    const pending = description.raw.pendingActivities?.[0];
    // Temporal keeps the last heartbeat across attempts: only one of the attempt running now counts.
    const fresh = pending?.state === ACTIVITY_STARTED && (optionalTsToMs(pending.lastHeartbeatTime) ?? -1) >= (optionalTsToMs(pending.lastStartedTime) ?? 0);
    const details = fresh ? pending.heartbeatDetails?.payloads?.[0] : undefined;
    const beat = details ? defaultPayloadConverter.fromPayload<Beat>(details) : undefined;
    // A step being retried (a store down, a lost connection) shows why until the new attempt gets on.
    const gettingOn = Boolean(beat?.bytes || beat?.items);
    const retry = !gettingOn && pending?.lastFailure?.message && (pending.attempt ?? 1) > 1 ? `attempt ${pending.attempt}, the last failed: ${pending.lastFailure.message}` : undefined;
    if (beat?.items !== undefined) return { phase: progress.phase, done: beat.items, total: beat.totalItems, unit: 'items', lastError: retry };
    return { phase: progress.phase, done: beat?.bytes, total: beat?.totalBytes, unit: 'bytes', lastError: beat?.lastError ?? retry };
  } catch {
    return undefined; // not started yet, or already closed: the result will tell
  }
}

function amount(n: number, unit: ProgressSnapshot['unit']): string {
  return unit === 'bytes' ? formatBytes(n) : count(n, 'item');
}

function describe(s: ProgressSnapshot, rate: number | undefined): string {
  const parts = [s.phase];
  if (s.lastError) parts.push(s.lastError);
  if (s.done !== undefined) {
    parts.push(s.total ? `${amount(s.done, s.unit)} of ${amount(s.total, s.unit)}` : amount(s.done, s.unit));
    if (s.unit === 'bytes' && rate !== undefined && rate > 0) parts.push(`${formatBytes(rate)}/s`);
  }
  return parts.join(' | ');
}

/** Said on Ctrl-C while the CLI waits on a run: the run goes on, and how to stop it. */
export function stoppedWaiting(workflowId: string): string {
  return `pgkeeper: stopped waiting; workflow ${workflowId} goes on in Temporal (the ui link above follows it; cancel it there, or with \`temporal workflow cancel -w ${workflowId}\`)`;
}

/**
 * Polls the workflow until `done` settles, rendering progress on `stream` (stderr by default). A run
 * no worker of task queue `queue` has taken up after 10 s gets a line saying so: it would otherwise
 * sit at "starting" with no reason given.
 */
export async function showProgress<T>(handle: WorkflowHandle, done: Promise<T>, queue: string, stream: NodeJS.WriteStream = process.stderr): Promise<T> {
  const bar = stream.isTTY
    ? new cliProgress.SingleBar(
        {
          stream,
          hideCursor: true,
          // A bar only when the total is known; otherwise the phase and what is done so far.
          format: (options, params, payload: { text: string; known: boolean }) =>
            payload.known ? `${cliProgress.Format.BarFormat(params.progress, options)} ${Math.round(params.progress * 100)}% | ${payload.text}` : payload.text,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(1, 0, { text: 'starting', known: false });
  // Ctrl-C stops the waiting, not the run: say so, or the user may think the backup was stopped.
  // Not where the process handles Ctrl-C itself (npm run up stops what it started).
  const ownsInterrupt = process.listenerCount('SIGINT') === 0;
  const detach = () => {
    bar?.stop();
    stream.write(`\n${stoppedWaiting(handle.workflowId)}\n`);
    process.exit(130);
  };
  if (ownsInterrupt) process.once('SIGINT', detach);
  // In a terminal, short enough for the bar's one line (cut at its width; nothing can be written
  // above it: the bar goes back to where it started when it stops), until progress replaces it.
  const stopHint = sayIfUntaken(handle, queue, (line) =>
    bar ? bar.update(0, { text: `no worker has taken this up yet (task queue "${queue}"): start one with \`pgkeeper worker\``, known: false }) : stream.write(`${clock(Date.now())} ${line}\n`),
  );
  try {
    return await poll(handle, done, queue, stream, bar);
  } finally {
    stopHint();
    process.removeListener('SIGINT', detach);
    bar?.stop();
  }
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/**
 * Only a worker answers the progress query: one silent this long after answering has most likely
 * stopped (killed, its host gone), and the run waits for the next. Said, or the wait is silent.
 */
export const WORKER_SILENT_MS = 30_000;

/** The polling itself: a snapshot every second (terminal) or two, until `done` settles. */
async function poll<T>(handle: WorkflowHandle, done: Promise<T>, queue: string, stream: NodeJS.WriteStream, bar: cliProgress.SingleBar | undefined): Promise<T> {
  const pollMs = bar ? 1_000 : 2_000;
  let settled = false;
  const finished = done.finally(() => {
    settled = true;
  });
  // Handled at once: a run that fails while the first snapshot is asked for must not be an
  // unhandled rejection (a stack dump); its failure is returned below all the same.
  finished.catch(() => undefined);
  let lastPhase: string | undefined;
  let lastError: string | undefined;
  let lastPrintMs = 0;
  let previous: { done?: number; atMs: number } | undefined;
  let answeredAtMs: number | undefined;
  let saidSilent = false;
  while (!settled) {
    const s = await progressSnapshot(handle);
    const now = Date.now();
    if (!s && answeredAtMs !== undefined && !saidSilent && now - answeredAtMs >= WORKER_SILENT_MS) {
      saidSilent = true;
      const line = `no worker has answered for ${Math.round((now - answeredAtMs) / 1000)} s: it may have stopped or lost its connection; the run goes on once one polls task queue "${queue}" (start one: \`pgkeeper worker\`)`;
      if (bar) bar.update(0, { text: line, known: false });
      else stream.write(`${clock(now)} ${line}\n`);
      lastPhase = undefined; // the next answer is shown, whatever its phase
    }
    if (s) {
      answeredAtMs = now;
      saidSilent = false;
      const rate = previous?.done !== undefined && s.done !== undefined ? ((s.done - previous.done) * 1000) / Math.max(1, now - previous.atMs) : undefined;
      const text = describe(s, rate);
      if (bar) {
        const known = Boolean(s.total && s.done !== undefined);
        bar.setTotal(known ? s.total! : 1);
        bar.update(known ? Math.min(s.done!, s.total!) : 0, { text, known });
      } else if (s.phase !== lastPhase || now - lastPrintMs >= 10_000 || (s.lastError !== undefined && s.lastError !== lastError)) {
        stream.write(`${clock(now)} ${text}\n`);
        lastPhase = s.phase;
        lastError = s.lastError;
        lastPrintMs = now;
      }
      previous = { done: s.done, atMs: now };
    }
    await Promise.race([finished.catch(() => undefined), new Promise((r) => setTimeout(r, pollMs))]);
  }
  return finished;
}
