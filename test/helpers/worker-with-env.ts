/**
 * The real worker entry (worker/main.ts) in a process of its own with exactly the environment a
 * test gives, every line of its output kept: for tests of how it connects (TLS, mTLS, API keys)
 * and of what it logs.
 */
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function spawn(env: Record<string, string>): ResultPromise<{ reject: false; all: true; buffer: false }> {
  return execa(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: ROOT,
    reject: false,
    all: true,
    buffer: false,
    // Nothing inherited: the test's own environment must not supply a variable the case is about.
    extendEnv: false,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env },
  });
}

export interface CapturedWorker {
  /** Everything it wrote so far, stdout and stderr interleaved. */
  output(): string;
  /** Sends a signal without waiting (SIGSTOP: a worker frozen with its polls open). */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM: a graceful stop; SIGKILL: one that dies. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

/** Starts a worker and resolves once it polls; rejects with its output if it exits first. */
export async function startWorkerWithEnv(env: Record<string, string>): Promise<CapturedWorker> {
  const child = spawn(env);
  let output = '';
  child.all!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // left running, it would keep the test process alive
      reject(new Error(`worker did not start within 60 s:\n${output}`));
    }, 60_000);
    child.all!.on('data', () => {
      if (output.includes('pgkeeper worker started')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void child.then((r) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${r.exitCode}) before it started:\n${output}`));
    });
  });
  return {
    output: () => output,
    signal: (signal) => void child.kill(signal),
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      await child;
    },
  };
}

/** Runs a worker that is expected to stop by itself (a configuration or connection error). */
export async function runWorkerUntilExit(env: Record<string, string>, timeoutMs = 60_000): Promise<{ exitCode: number | undefined; output: string }> {
  const child = spawn(env);
  let output = '';
  child.all!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const result = await child;
  clearTimeout(timer);
  return { exitCode: result.exitCode, output };
}
