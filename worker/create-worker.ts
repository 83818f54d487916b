/** Builds the pgkeeper Worker: all workflows, all activities, graceful shutdown. Used by main.ts and the tests. */
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import type { Config } from '../common/config.js';
import { SOURCE_EXTENSION } from './workflows-path.js';

/** Bundles the workflows in a child process, so webpack's memory is returned when it exits. */
export async function bundleInChildProcess(): Promise<{ code: string }> {
  const script = fileURLToPath(new URL(`./bundle-workflows${SOURCE_EXTENSION}`, import.meta.url));
  const loader = SOURCE_EXTENSION === '.ts' ? ['--import', 'tsx'] : [];
  const { stdout } = await execa(process.execPath, [...loader, script], { maxBuffer: 64 * 1024 * 1024 });
  return { code: stdout };
}

/**
 * On SIGINT/SIGTERM the worker stops taking work and lets running activities finish for this long;
 * then it cancels them, which kills pg_dump/pg_restore and removes their partial output.
 * Temporal retries the interrupted activity on another (or the restarted) worker.
 */
const SHUTDOWN_GRACE_TIME = '10s';

export interface CreateWorkerOptions {
  config: Config;
  connection: NativeConnection;
  /** A prebuilt bundle (tests build it once per file); otherwise the workflows are bundled at start, in a child process. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
}

export async function createWorker({ config, connection, workflowBundle, shutdownGraceTime }: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle: workflowBundle ?? (await bundleInChildProcess()),
    activities: createActivities(config),
    shutdownGraceTime: shutdownGraceTime ?? SHUTDOWN_GRACE_TIME,
    // Heartbeats are throttled to 80% of heartbeatTimeout (24 s for our 30 s), and a cancellation
    // reaches an activity only with a heartbeat's reply: cap the throttle so a cancel takes seconds.
    maxHeartbeatThrottleInterval: '3s',
  });
}
