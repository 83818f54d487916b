/** Builds the pgkeeper Worker: all workflows (the prebuilt bundle), all activities, graceful shutdown. Used by run-worker.ts and the tests. */
import { existsSync } from 'node:fs';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import type { Config } from '../common/config.js';
import { workerIdentity } from './worker-identity.js';
import { WORKFLOW_BUNDLE } from './workflows-path.js';

/**
 * On SIGINT/SIGTERM the worker stops taking work and lets running activities finish for this long;
 * then it cancels them, which kills the tools and removes their partial output.
 * Temporal retries the interrupted activity on another (or the restarted) worker.
 */
export const SHUTDOWN_GRACE_TIME = '10s';
const SHUTDOWN_FORCE_TIME = '25s';

export class BundleMissingError extends Error {
  constructor() {
    super(`the workflow bundle ${WORKFLOW_BUNDLE} is missing: run \`npm run build\` first`);
  }
}

export interface CreateWorkerOptions {
  config: Config;
  connection: NativeConnection;
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /** Workflow code other than the prebuilt bundle: another version's, for the upgrade test. */
  workflowCode?: string;
}

export async function createWorker({ config, connection, shutdownGraceTime, workflowCode }: CreateWorkerOptions): Promise<Worker> {
  if (workflowCode === undefined && !existsSync(WORKFLOW_BUNDLE)) throw new BundleMissingError();
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    identity: workerIdentity(config),
    workflowBundle: workflowCode !== undefined ? { code: workflowCode } : { codePath: WORKFLOW_BUNDLE },
    activities: createActivities(config),
    shutdownGraceTime: shutdownGraceTime ?? SHUTDOWN_GRACE_TIME,
    // An activity that does not end once cancelled must not keep a stopping worker up for ever
    // (docker compose's stop_grace_period here is 30 s).
    shutdownForceTime: SHUTDOWN_FORCE_TIME,
    // Heartbeats are throttled to 80% of heartbeatTimeout (24 s for our 30 s), and a cancellation
    // reaches an activity only with a heartbeat's reply: cap the throttle so a cancel takes seconds.
    maxHeartbeatThrottleInterval: '3s',
    // A run begun by another pgkeeper version whose workflow code differs (workers upgraded while it
    // ran) fails, saying so, rather than retry its workflow task forever: a hung run would hold its
    // database's workflow id, and every later backup of that database would be skipped as busy.
    workflowFailureErrorTypes: { '*': ['NondeterminismError'] },
  });
}
