/** Starting pgkeeper workflows under fixed workflow ids, so Temporal refuses a second one while one runs. */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  type Client,
  type Workflow,
  type WorkflowHandleWithFirstExecutionRunId,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { Config } from '../common/config.js';
import { databaseWorkflowId } from '../common/names.js';
import { CliError } from './cli-error.js';
import { showLines } from './format.js';
import { workflowUrl } from './temporal.js';
import { requireWorker } from './worker-workflow.js';

/**
 * Starts workflow type `type` under `workflowId`; if a run holds that id, fails with `busy` and the
 * run's UI link. Workflows are named by type (a string): the CLI never loads workflow code.
 */
export async function startExclusive<W extends Workflow>(
  client: Client,
  config: Config,
  type: string,
  input: Parameters<W>[0],
  workflowId: string,
  busy: string,
): Promise<WorkflowHandleWithFirstExecutionRunId<W>> {
  // A run on a queue nobody polls would wait, silently, until a worker appears: say so instead.
  await requireWorker(client, config);
  try {
    return await client.workflow.start<W>(type, {
      args: [input],
      taskQueue: config.temporal.taskQueue,
      workflowId,
      // Temporal refuses a second start under the same id while one runs.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    } as unknown as WorkflowStartOptions<W>);
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CliError(`${busy} (${workflowId}); nothing was started. Wait for it, or see ${workflowUrl(config, workflowId)}`);
    throw err;
  }
}

/** One operation per database: the database's fixed workflow id. */
export function startOnDatabase<W extends Workflow>(client: Client, config: Config, type: string, input: Parameters<W>[0], database: string) {
  const workflowId = databaseWorkflowId(config.temporal.taskQueue, database);
  return startExclusive<W>(client, config, type, input, workflowId, `another pgkeeper operation on database "${database}" is running`);
}

/**
 * A run of its own (a drill, a verify: several may run at once), under `idPrefix` and the time;
 * started once a worker polls the queue, and said to the user.
 */
export async function startAnnounced<W extends Workflow>(
  client: Client,
  config: Config,
  type: string,
  input: Parameters<W>[0],
  idPrefix: string,
  what: string,
  /** Elsewhere (or nowhere: null) when stdout is for a machine (`--json`). */
  announceTo: NodeJS.WritableStream | null = process.stdout,
) {
  await requireWorker(client, config);
  const handle = await client.workflow.start<W>(type, {
    args: [input],
    taskQueue: config.temporal.taskQueue,
    workflowId: `${idPrefix}:${new Date().toISOString()}`,
  } as unknown as WorkflowStartOptions<W>);
  if (announceTo) announceStart(config, what, handle, announceTo);
  return handle;
}

/** Tells the user what started and where to watch it. */
export function announceStart(config: Config, what: string, handle: { workflowId: string; firstExecutionRunId: string }, to: NodeJS.WritableStream = process.stdout): void {
  to.write(showLines([`started ${what}`, `  workflow  ${handle.workflowId}`, `  ui        ${workflowUrl(config, handle.workflowId, handle.firstExecutionRunId)}`]));
}
