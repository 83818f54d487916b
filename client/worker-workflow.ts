/**
 * Short workflows the CLI runs to ask the worker something (what the stores hold), so the CLI
 * needs access to Temporal only. Fails fast, in one line, when no worker polls the task queue.
 */
import { randomUUID } from 'node:crypto';
import type { Client, Workflow, WorkflowStartOptions } from '@temporalio/client';
import type { Config } from '../common/config.js';
import { CliError } from './cli-error.js';

/** temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW */
const WORKFLOW_TASK_QUEUE = 1;

/**
 * Fails unless a worker polls the task queue, after waiting up to `graceMs` for one: a worker
 * started a moment ago (a script's `pgkeeper worker &`, `npm run up`) polls within that.
 */
export async function requireWorker(client: Client, config: Config, graceMs = 5_000): Promise<void> {
  const queue = config.temporal.taskQueue;
  const deadline = Date.now() + graceMs;
  for (;;) {
    const { pollers } = await client.workflowService.describeTaskQueue({ namespace: config.temporal.namespace, taskQueue: { name: queue }, taskQueueType: WORKFLOW_TASK_QUEUE });
    if (pollers?.length) return;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new CliError(`no pgkeeper worker polls task queue "${queue}" on ${config.temporal.address}: start one (\`pgkeeper worker\`, or \`npm run up\`), or pick the queue with --queue / TASK_QUEUE`);
}

/** Runs `workflow(input)` on the worker's queue and returns its result, within a minute. */
export async function askWorker<W extends Workflow>(client: Client, config: Config, type: string, input: Parameters<W>[0]): Promise<Awaited<ReturnType<W>>> {
  await requireWorker(client, config);
  return client.workflow.execute<W>(type, {
    args: [input],
    taskQueue: config.temporal.taskQueue,
    workflowId: `pgkeeper-ask:${config.temporal.taskQueue}:${randomUUID()}`,
    workflowExecutionTimeout: '2m',
  } as unknown as WorkflowStartOptions<W>) as Promise<Awaited<ReturnType<W>>>;
}
