/** Starting pgkeeper workflows under fixed workflow ids, so Temporal refuses a second one while one runs. */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Config } from '../common/config.js';
import { databaseWorkflowId } from '../common/names.js';
import { CliError } from './cli-error.js';
import { workflowUrl } from './temporal.js';

type Handle<I, R> = WorkflowHandleWithFirstExecutionRunId<(input: I) => Promise<R>>;

/** Starts `workflow` under `workflowId`; if a run holds that id, fails with `busy` and the run's UI link. */
export async function startExclusive<I, R>(
  client: Client,
  config: Config,
  workflow: (input: I) => Promise<R>,
  input: I,
  workflowId: string,
  busy: string,
): Promise<Handle<I, R>> {
  try {
    return await client.workflow.start(workflow, {
      args: [input],
      taskQueue: config.temporal.taskQueue,
      workflowId,
      // Temporal refuses a second start under the same id while one runs.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CliError(`${busy} (${workflowId}); nothing was started. Wait for it, or see ${workflowUrl(config, workflowId)}`);
    throw err;
  }
}

/** One operation per database: the database's fixed workflow id. */
export function startOnDatabase<I, R>(client: Client, config: Config, workflow: (input: I) => Promise<R>, input: I, database: string): Promise<Handle<I, R>> {
  const workflowId = databaseWorkflowId(config.temporal.taskQueue, database);
  return startExclusive(client, config, workflow, input, workflowId, `another pgkeeper operation on database "${database}" is running`);
}

/** Tells the user what started and where to watch it. */
export function announceStart(config: Config, what: string, handle: { workflowId: string; firstExecutionRunId: string }): void {
  process.stdout.write(`started ${what}\n  workflow  ${handle.workflowId}\n  ui        ${workflowUrl(config, handle.workflowId, handle.firstExecutionRunId)}\n`);
}
