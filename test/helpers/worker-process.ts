/** A pgkeeper worker in a process of its own, so a test can SIGKILL it like a crashing machine. */
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import type { Config } from '../../common/config.js';
import { workerEnvironment } from './config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerProcess {
  child: ResultPromise;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Workers still running: a test that failed before it killed its worker must not leave it taking the next test's tasks. */
const running = new Set<WorkerProcess>();

/** SIGKILLs every worker a test spawned and did not stop (for `afterEach`). */
export async function killSpawnedWorkers(): Promise<void> {
  await Promise.all([...running].map((w) => w.kill('SIGKILL')));
}

/** `compiled`: run dist/ as deployed (needs `npm run build`), else the sources through tsx. */
export async function spawnWorker(address: string, config: Config, compiled = true, extraEnv: Record<string, string> = {}): Promise<WorkerProcess> {
  const [file, args] = compiled ? ['bin/pgkeeper-worker', []] : [process.execPath, ['--import', 'tsx', 'worker/main.ts']];
  const child = execa(file, args, {
    cwd: ROOT,
    reject: false,
    env: { ...workerEnvironment(config), TEMPORAL_ADDRESS: address, LOG_LEVEL: 'info', ...extraEnv },
    buffer: false,
    detached: true, // its own process group, so a test can kill it and every tool it started at once
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`worker did not start within 60 s:\n${output}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('pgkeeper worker started')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void child.then((r) => reject(new Error(`worker exited (${r.exitCode}) before it started:\n${output}${String(r.stderr ?? '')}`)));
  });
  const worker: WorkerProcess = {
    child,
    /** Signals the worker's whole process group, its pg tools, zstd and age included: like the machine going away. */
    async kill(signal) {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
      await child;
    },
  };
  running.add(worker);
  void child.finally(() => running.delete(worker));
  return worker;
}
