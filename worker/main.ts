/** `tsx worker/main.ts`: one pgkeeper worker from the sources (tests, development); deployed, bin/pgkeeper-worker runs `pgkeeper worker`. */
import { runWorker } from './run-worker.js';

runWorker().catch((err: unknown) => {
  process.stderr.write(`pgkeeper worker: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
