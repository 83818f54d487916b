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
const SHUTDOWN_GRACE_TIME = '10s';

export class BundleMissingError extends Error {
  constructor() {
    super(`the workflow bundle ${WORKFLOW_BUNDLE} is missing: run \`npm run build\` first`);
  }
}

export interface CreateWorkerOptions {
  config: Config;
  connection: NativeConnection;
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
}

export async function createWorker({ config, connection, shutdownGraceTime }: CreateWorkerOptions): Promise<Worker> {
  if (!existsSync(WORKFLOW_BUNDLE)) throw new BundleMissingError();
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    identity: workerIdentity(config),
    workflowBundle: { codePath: WORKFLOW_BUNDLE },
    activities: createActivities(config),
    shutdownGraceTime: shutdownGraceTime ?? SHUTDOWN_GRACE_TIME,
    // Heartbeats are throttled to 80% of heartbeatTimeout (24 s for our 30 s), and a cancellation
    // reaches an activity only with a heartbeat's reply: cap the throttle so a cancel takes seconds.
    maxHeartbeatThrottleInterval: '3s',
  });
}
