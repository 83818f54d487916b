/**
 * The worker's identity, as Temporal lists it among a task queue's pollers: pid and host, and a
 * short hash of the stores it writes. Two workers on one queue share its runs, each run going to
 * whichever polls first: with different stores, backups land in either's and listings answer from
 * either. The hash lets a worker see such a neighbour when it starts (store URLs hold no secret).
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import type { NativeConnection } from '@temporalio/worker';
import type { Config } from '../common/config.js';

/** temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY */
const ACTIVITY_TASK_QUEUE = 2;
const TAG = /\bstores:([0-9a-f]{8})\b/;

function storesHash(config: Config): string {
  const urls = [config.stores.primary.url, ...config.stores.copies.map((s) => s.url).sort()];
  return createHash('sha256').update(JSON.stringify(urls)).digest('hex').slice(0, 8);
}

export function workerIdentity(config: Config): string {
  return `${process.pid}@${os.hostname()} pgkeeper stores:${storesHash(config)}`;
}

/** The pollers of the queue's activities (they touch the stores) that are pgkeeper workers with other stores. */
export async function neighboursWithOtherStores(connection: NativeConnection, config: Config): Promise<string[]> {
  const own = storesHash(config);
  const { pollers } = await connection.workflowService.describeTaskQueue({
    namespace: config.temporal.namespace,
    taskQueue: { name: config.temporal.taskQueue },
    taskQueueType: ACTIVITY_TASK_QUEUE,
  });
  return (pollers ?? []).flatMap((p) => {
    const tag = TAG.exec(p.identity ?? '')?.[1];
    return tag !== undefined && tag !== own ? [p.identity!] : [];
  });
}
