/**
 * pgkeeper as deployed: the compiled worker (bin/pgkeeper-worker, as the Docker image and `npm run
 * up` run it) in a process of its own, so its memory and CPU can be read from /proc; and
 * `bin/pgkeeper` run as a user runs it, CLI start included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { cpuOf, cpuSince, timed, type Cpu } from './measure.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORKER = path.join(ROOT, 'bin', 'pgkeeper-worker');

/** pgkeeper's own variables: none of the caller's may leak into the benchmark's workers and CLI runs. */
const OWN_VARIABLES = /^(DB_|BACKUP_|SCRATCH_DIR$|ENCRYPT_RECIPIENTS$|AGE_IDENTITY_FILE$|RETENTION_DAYS$|TEMPORAL_|TASK_QUEUE$|LOG_LEVEL$|NOTIFY_|METRICS_ADDRESS$|AWS_|PG[A-Z]+$)/;

/** The caller's environment without any pgkeeper, PostgreSQL or AWS setting, plus `env`. */
export function cleanEnvironment(env: Record<string, string>): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !OWN_VARIABLES.test(name)) clean[name] = value;
  return { ...clean, ...env };
}

/** Refuses to measure the tsx fallback: bin/pgkeeper runs dist/ only when no source is newer. */
export function checkBuilt(): void {
  const compiled = path.join(ROOT, 'dist', 'cli', 'cli.js');
  if (!existsSync(compiled) || !existsSync(path.join(ROOT, 'dist', 'worker', 'main.js'))) throw new Error('not built: run `npm run build` (npm run bench does)');
  const builtMs = statSync(compiled).mtimeMs;
  const newer = (dir: string): string | undefined => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        const found = newer(full);
        if (found) return found;
      } else if (entry.name.endsWith('.ts') && statSync(full).mtimeMs > builtMs) return full;
    }
    return undefined;
  };
  for (const dir of ['client', 'common', 'workflows', 'activities', 'worker']) {
    const found = newer(path.join(ROOT, dir));
    if (found) throw new Error(`${path.relative(ROOT, found)} is newer than dist/: bin/pgkeeper would run the sources through tsx; run \`npm run build\` first`);
  }
}

export interface BenchWorker {
  readonly name: string;
  readonly pid: number;
  readonly taskQueue: string;
  /** The environment the CLI needs to reach this worker (its task queue on the dev server). */
  readonly cliEnv: Record<string, string>;
  logTail(lines?: number): string;
  stop(): Promise<void>;
  /** SIGKILL to the worker's process group, at once (the benchmark is being interrupted). */
  killNow(): void;
}

/**
 * Starts a worker with `env` (store, task queue, encryption...) and waits for its "started" line.
 * Its output goes to `logFile`; it runs in its own process group, so stopping it stops its tools.
 */
export async function startWorker(name: string, env: Record<string, string>, logFile: string): Promise<BenchWorker> {
  const taskQueue = env.TASK_QUEUE;
  if (!taskQueue || !env.TEMPORAL_ADDRESS) throw new Error('startWorker: TASK_QUEUE and TEMPORAL_ADDRESS are required');
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(WORKER, [], { cwd: ROOT, env: cleanEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let started = false;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${name} did not start within 60 s; see ${logFile}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (!started && chunk.toString().includes('pgkeeper worker started')) {
        started = true;
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => log.write(chunk));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`worker ${name} exited (${signal ?? code}) before it started: ${tail(logFile, 10)}`));
    });
  });
  return {
    name,
    pid: child.pid!,
    taskQueue,
    cliEnv: { ...pick(env, /^(DB_|TEMPORAL_ADDRESS$|TASK_QUEUE$)/), LOG_LEVEL: 'warn' },
    logTail: (lines = 20) => tail(logFile, lines),
    killNow() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const signal = (s: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, s);
        } catch {
          // already gone
        }
      };
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
      log.end();
    },
  };
}

function pick(env: Record<string, string>, names: RegExp): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => names.test(k)));
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface CliRun {
  ms: number;
  /** CPU of the CLI process (node, and bash before it execs). */
  cpu: Cpu;
  stdout: string;
}

/** `bin/pgkeeper <args>` against `worker`, timed from spawn to exit: what the user waits for. */
export async function runCli(worker: BenchWorker, args: string[]): Promise<CliRun> {
  const before = cpuOf('self');
  const { ms, value } = await timed(() =>
    execa(path.join(ROOT, 'bin', 'pgkeeper'), args, { cwd: ROOT, env: cleanEnvironment(worker.cliEnv), extendEnv: false, stdin: 'ignore', reject: false }),
  );
  // A source edited while the bench runs turns bin/pgkeeper into the tsx fallback from then on:
  // numbers that would silently measure something else (checked after the run, outside its time).
  checkBuilt();
  if (value.failed) {
    throw new Error(`bin/pgkeeper ${args.join(' ')} failed (exit ${value.exitCode ?? value.signal}):\n${String(value.stdout)}\n${String(value.stderr)}\nworker ${worker.name}:\n${worker.logTail()}`);
  }
  return { ms, cpu: cpuSince(before, cpuOf('self')), stdout: String(value.stdout) };
}
