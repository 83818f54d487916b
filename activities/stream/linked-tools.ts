/**
 * Tools wired to each other directly, as a shell pipeline is: the bulk of the archive stream
 * (pg_dump's uncompressed output, hundreds of MB) goes from pg_dump into `tee`, and from `tee` into
 * zstd and, through named pipes, into the `pg_restore` readers, without ever being copied through
 * this process: on two cores that is most of the worker's CPU time saved. Each tool still has its
 * own exit status, stderr and classification, shares the run's abort signal (SIGTERM, then SIGKILL
 * after 5 s), and a tool killed because something else failed is never taken for the cause.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { killedBy } from '../failures.js';
import { FailureType } from '../../common/errors.js';
import { LEFT_BEHIND_MS, sweepStale } from '../sweep-stale.js';
import type { StreamRun } from './stream-run.js';
import { toolEnvironment } from './tool-env.js';
import { settleFailure, stopOnAbort, toolMissing, type ToolSpec } from './tool-process.js';

export interface LinkedTool {
  /** Resolves with the tool's stderr (its last 8 KiB) when it exited 0: zstd's size summary, say. */
  done: Promise<string>;
  stdout: Readable;
}

const STDERR_KEEP = 8 * 1024;

/**
 * Starts `spec` reading `stdin`: another linked tool's stdout, handed over as a file descriptor
 * (this process keeps no copy of it, so the writer sees the reader's death at once).
 */
export function startLinkedTool(run: StreamRun, spec: ToolSpec, stdin: Readable | 'ignore'): LinkedTool {
  const child = spawn(spec.file, spec.args, { env: spec.env ?? toolEnvironment(), stdio: [stdin, 'pipe', 'pipe'] });
  if (stdin !== 'ignore') stdin.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => (stderr = (stderr + text).slice(-STDERR_KEEP)));
  const stopping = stopOnAbort(run, child);
  const done = new Promise<string>((resolve, reject) => {
    let spawnError: NodeJS.ErrnoException | undefined;
    child.once('error', (err: NodeJS.ErrnoException) => (spawnError = err));
    child.once('close', (code, signal) => {
      stopping.release();
      if (code === 0) return resolve(stderr);
      settleFailure(run, spec, { signal: signal ?? undefined, stderr, sent: stopping.sent }, () =>
        spawnError?.code === 'ENOENT'
          ? toolMissing(spec.name)
          : signal
            ? ApplicationFailure.retryable(killedBy(spec.name, signal), FailureType.PgToolKilled)
            : spec.classify({ exitCode: code ?? undefined, stderr: stderr.trim().split('\n').slice(-5).join(' | ') }),
      );
      reject(run.error());
    });
  });
  done.catch(() => undefined); // observed through `settle`
  return { done, stdout: child.stdout };
}

const PIPES_PREFIX = 'pgkeeper-stream-';

/** Named pipes in a fresh private directory; `remove()` deletes them. Those a killed worker left go first. */
export async function namedPipes(names: string[]): Promise<{ paths: Record<string, string>; remove(): Promise<void> }> {
  await sweepStale(os.tmpdir(), PIPES_PREFIX, LEFT_BEHIND_MS);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), PIPES_PREFIX));
  const paths = Object.fromEntries(names.map((n) => [n, path.join(dir, n)]));
  await execa('mkfifo', ['-m', '0600', ...Object.values(paths)]);
  return { paths, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}

/**
 * A tool reading a named pipe as its stdin. pg_restore needs its archive on stdin to read it
 * sequentially (given a pipe's path it tries to seek, and fails), so a shell opens the pipe and
 * execs the tool: its exit status and stderr are the tool's own.
 */
export function readingPipe(spec: ToolSpec, pipe: string): ToolSpec {
  return { ...spec, file: 'sh', args: ['-c', 'exec "$0" "$@" < "$PGKEEPER_PIPE"', spec.file, ...spec.args], env: { ...(spec.env ?? toolEnvironment()), PGKEEPER_PIPE: pipe } };
}
