/** `npm run worker` / `tsx worker/main.ts`: run one pgkeeper worker in the foreground. */
import { runWorker } from './run-worker.js';

runWorker().catch((err: unknown) => {
  process.stderr.write(`pgkeeper worker: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
