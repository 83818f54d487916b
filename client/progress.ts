/**
 * Progress of a running workflow while the CLI waits: the workflow's `progress` query gives the
 * phase; the running activity's last heartbeat gives bytes done. In a terminal a live line
 * (cli-progress); otherwise a plain line per phase change and every 10 s, for logs and CI.
 */
import { defaultPayloadConverter, type WorkflowHandle } from '@temporalio/client';
import cliProgress from 'cli-progress';
import { formatBytes } from './format.js';

export interface ProgressSnapshot {
  phase: string;
  bytes?: number;
  totalBytes?: number;
}

async function snapshot(handle: WorkflowHandle): Promise<ProgressSnapshot | undefined> {
  try {
    const [progress, description] = await Promise.all([handle.query<{ phase: string }>('progress'), handle.describe()]);
    const details = description.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
    const beat = details ? defaultPayloadConverter.fromPayload<{ bytes?: number; totalBytes?: number }>(details) : undefined;
    return { phase: progress.phase, bytes: beat?.bytes, totalBytes: beat?.totalBytes };
  } catch {
    return undefined; // not started yet, or already closed: the result will tell
  }
}

function describe(s: ProgressSnapshot, rate: number | undefined): string {
  const parts = [s.phase];
  if (s.bytes !== undefined) {
    parts.push(s.totalBytes ? `${formatBytes(s.bytes)} of ${formatBytes(s.totalBytes)}` : formatBytes(s.bytes));
    if (rate !== undefined && rate > 0) parts.push(`${formatBytes(rate)}/s`);
  }
  return parts.join(' | ');
}

/** Polls the workflow until `done` settles, rendering progress on stderr. */
export async function showProgress<T>(handle: WorkflowHandle, done: Promise<T>, stream: NodeJS.WriteStream = process.stderr): Promise<T> {
  const live = stream.isTTY === true;
  const bar = live
    ? new cliProgress.SingleBar({ format: '{text}', stream, hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(1, 0, { text: 'starting' });
  let settled = false;
  const finished = done.finally(() => {
    settled = true;
  });
  let lastPhase: string | undefined;
  let lastPrintMs = 0;
  let previous: { bytes?: number; atMs: number } | undefined;
  while (!settled) {
    const s = await snapshot(handle);
    const now = Date.now();
    if (s) {
      const rate =
        previous?.bytes !== undefined && s.bytes !== undefined ? ((s.bytes - previous.bytes) * 1000) / Math.max(1, now - previous.atMs) : undefined;
      const text = describe(s, rate);
      if (bar) {
        bar.update(0, { text });
      } else if (s.phase !== lastPhase || now - lastPrintMs >= 10_000) {
        stream.write(`${new Date(now).toISOString().slice(11, 19)} ${text}\n`);
        lastPhase = s.phase;
        lastPrintMs = now;
      }
      previous = { bytes: s.bytes, atMs: now };
    }
    await Promise.race([finished.catch(() => undefined), new Promise((r) => setTimeout(r, 1_000))]);
  }
  bar?.stop();
  return finished;
}
