/** A pgkeeper worker in a process of its own, so a test can SIGKILL it like a crashing machine. */
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import type { Config } from '../../common/config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerProcess {
  child: ResultPromise;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** `compiled`: run dist/ as deployed (needs `npm run build`), else the sources through tsx. */
export async function spawnWorker(address: string, config: Config, compiled = false): Promise<WorkerProcess> {
  const args = compiled ? ['--max-semi-space-size=1', 'dist/worker/main.js'] : ['--import', 'tsx', 'worker/main.ts'];
  const child = execa(process.execPath, args, {
    cwd: ROOT,
    reject: false,
    env: {
      TEMPORAL_ADDRESS: address,
      TASK_QUEUE: config.temporal.taskQueue,
      BACKUP_DIR: config.backupDir,
      DB_HOST: config.db.host,
      DB_PORT: String(config.db.port),
      DB_USER: config.db.user,
      // Unset stays unset: an undefined value would reach the child as the string "undefined".
      ...(config.db.password === undefined ? {} : { DB_PASSWORD: config.db.password }),
      LOG_LEVEL: 'info',
    },
    buffer: false,
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
  return {
    child,
    async kill(signal) {
      child.kill(signal);
      await child;
    },
  };
}
