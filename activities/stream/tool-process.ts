/**
 * An external tool (pg_dump, pg_restore, zstd, age) as part of a stream. The process shares the
 * run's abort signal: a failure anywhere, or the activity's cancellation, sends it SIGTERM and
 * 5 s later SIGKILL (stopOnAbort). Its output is released downstream only once it has exited successfully, so a
 * tool that fails half-way can never make a truncated stream look complete.
 */
import { closeSync, openSync } from 'node:fs';
import { Duplex, Transform, type Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { execa, type Result } from 'execa';
import { killedBy } from '../failures.js';
import { FailureType } from '../../common/errors.js';
import { Rank, type StreamRun } from './stream-run.js';
import { toolEnvironment } from './tool-env.js';

export interface ToolSpec {
  /** For messages: "zstd", "pg_dump". */
  name: string;
  file: string;
  args: string[];
  env?: Record<string, string>;
  /** Turns a failed exit into the failure the user sees; `stderr` is the tool's last lines. */
  classify(result: { exitCode: number | undefined; stderr: string }): ApplicationFailure;
  /**
   * Write stdout straight into this file (created 0600, or emptied keeping its mode): the last
   * stage of a restore's chain, so the decompressed archive never passes through this process.
   */
  stdoutFile?: string;
  /** Keep stdout in memory (small outputs, e.g. `pg_restore --list`) instead of streaming it. */
  captureStdout?: boolean;
  /** Where the tool sits in the stream (stream-run.ts Rank): which failure is the cause. Default: a stage. */
  rank?: number;
}

export interface ToolProcess {
  /** Resolves with captured stdout ('' unless captureStdout) when the tool exited 0. */
  done: Promise<string>;
  stdin: NodeJS.WritableStream & { destroyed: boolean; writableEnded: boolean };
  /** The tool's stdout, ending only after a successful exit (none when it goes to `stdoutFile`). */
  output: Readable | undefined;
}

const STDERR_LINES = 5;
const KILL_AFTER_MS = 5_000;

function tail(stderr: unknown): string {
  return String(stderr ?? '').trim().split('\n').slice(-STDERR_LINES).join(' | ');
}

/** What to say when a tool is not installed on the worker; several (zstd, age) are named at once. */
export function toolMissing(name: string, ...more: string[]): ApplicationFailure {
  if (more.length > 0) {
    const names = [name, ...more];
    return ApplicationFailure.nonRetryable(`${names.join(' and ')} were not found on the worker; install them (Debian: apt-get install ${names.join(' ')})`, FailureType.ToolMissing);
  }
  const hint =
    name === 'age' ? 'install age (Debian: apt-get install age)' : name === 'zstd' ? 'install zstd (Debian: apt-get install zstd)' : 'install the PostgreSQL client tools or set PG_BIN_DIR';
  return ApplicationFailure.nonRetryable(`${name} was not found on the worker; ${hint}`, FailureType.ToolMissing);
}

/** A plumbing tool (tee) failing says nothing about the archive: worth a retry. */
export function streamToolFailed(name: string): ToolSpec['classify'] {
  return ({ exitCode, stderr }) => ApplicationFailure.retryable(`${name} failed in the archive stream (exit code ${exitCode}): ${stderr || 'no message'}`, FailureType.PgToolFailed);
}

/**
 * Stops `child` when the run fails: SIGTERM, then SIGKILL after 5 s. Returns the signals sent, so
 * a tool's death can be told apart from ours: a pg_dump SIGKILLed by the OOM killer while we had
 * only sent SIGTERM (its readers failed first, seeing their input end) is still the cause.
 */
export function stopOnAbort(run: StreamRun, child: { kill(signal: NodeJS.Signals): boolean }): { sent: Set<string>; release(): void } {
  const sent = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    sent.add('SIGTERM');
    child.kill('SIGTERM');
    timer = setTimeout(() => {
      sent.add('SIGKILL');
      child.kill('SIGKILL');
    }, KILL_AFTER_MS);
  };
  if (run.signal.aborted) stop();
  else run.signal.addEventListener('abort', stop, { once: true });
  return {
    sent,
    release: () => {
      clearTimeout(timer);
      run.signal.removeEventListener('abort', stop);
    },
  };
}

/**
 * Records how a tool failed: stopped by us (a signal we sent, or pg tools' "terminated by user",
 * their answer to our SIGTERM), or killed by SIGPIPE because its reader went away, it follows
 * from another failure; otherwise (its own exit status, a signal we did not send) it is a cause
 * of the tool's rank.
 */
export function settleFailure(run: StreamRun, spec: ToolSpec, exit: { signal: string | undefined; stderr: string; sent: Set<string> }, failure: () => ApplicationFailure): void {
  if (exit.signal ? exit.sent.has(exit.signal) : exit.sent.has('SIGTERM') && /terminated by user/.test(exit.stderr)) return;
  if (exit.signal === 'SIGPIPE') return run.symptomOf(failure());
  run.fail(failure(), spec.rank ?? Rank.Stage);
}

function exitFailure(spec: ToolSpec, result: Result): ApplicationFailure {
  // 127: a shell (readingPipe) could not find the tool to exec.
  if (result.code === 'ENOENT' || result.exitCode === 127) return toolMissing(spec.name);
  if (result.signal) {
    // Not sent by us (settleFailure drops ours): the OOM killer, an operator. Worth a retry.
    return ApplicationFailure.retryable(killedBy(spec.name, result.signal), FailureType.PgToolKilled);
  }
  return spec.classify({ exitCode: result.exitCode, stderr: tail(result.stderr) });
}

/** Starts `spec` within `run`; `stdin: 'pipe'` to feed it, 'ignore' for a source like pg_dump. */
export function startTool(run: StreamRun, spec: ToolSpec, stdin: 'pipe' | 'ignore'): ToolProcess {
  // A descriptor, not execa's `{ file }` (which pipes the output through this process into a
  // write stream): the tool writes the file itself, as a shell's redirection would. Execa hands a
  // lone descriptor to spawn as it is; its types only list the numbers 3 to 9.
  const outFd = spec.stdoutFile ? openSync(spec.stdoutFile, 'w', 0o600) : undefined;
  const child = execa(spec.file, spec.args, {
    env: spec.env ?? toolEnvironment(),
    extendEnv: false,
    stdin,
    stdout: (outFd ?? 'pipe') as 'pipe',
    stderr: 'pipe',
    buffer: { stdout: spec.captureStdout === true, stderr: true },
    reject: false,
  });
  const stopping = stopOnAbort(run, child);
  const done = child.then((result) => {
    stopping.release();
    if (outFd !== undefined) closeSync(outFd);
    if (result.failed) {
      settleFailure(run, spec, { signal: result.signal ?? undefined, stderr: String(result.stderr ?? ''), sent: stopping.sent }, () => exitFailure(spec, result));
      throw run.error();
    }
    return spec.captureStdout ? String(result.stdout ?? '') : '';
  });
  done.catch(() => undefined); // observed through `settle`
  // Writing to a tool that has exited fails with EPIPE: the tool's exit status says why.
  child.stdin?.on('error', () => undefined);
  const output = spec.stdoutFile
    ? undefined
    : spec.captureStdout
    ? (child.stdout as Readable)
    : (child.stdout as Readable).pipe(
        new Transform({
          transform: (chunk, _encoding, next) => next(null, chunk),
          flush: (next) => void done.then(() => next(), (err: Error) => next(err)),
        }),
      );
  // The output's error repeats `done`'s, which `settle` observes: a tool whose output nobody reads
  // (the read-through pg_restore), or one failing after the stream that read it was torn down,
  // must not turn a failed or cancelled run into an uncaught exception that takes the worker down.
  output?.on('error', () => undefined);
  return { done, stdin: child.stdin as ToolProcess['stdin'], output };
}

/** A filter tool (zstd, age) as one duplex stage: bytes in through stdin, out through stdout. */
export function toolStage(run: StreamRun, spec: ToolSpec): { stage: Duplex; done: Promise<string> } {
  const tool = startTool(run, spec, 'pipe');
  const stage = Duplex.from({ writable: tool.stdin as unknown as NodeJS.WritableStream, readable: tool.output! });
  // A tool that fails before the stage is piped (age with an unreadable identity exits at once,
  // while the store is still being asked for the archive) errors the stage with no one listening:
  // that must not take the worker down. `done` carries the failure; a pipeline still sees it.
  stage.on('error', () => undefined);
  return { stage, done: tool.done };
}
