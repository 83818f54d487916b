/** Starting pgkeeper workflows under the database's fixed workflow id (one operation per database). */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Config } from '../common/config.js';
import { databaseWorkflowId } from '../common/names.js';
import { CliError } from './cli-error.js';
import { workflowUrl } from './temporal.js';

export async function startOnDatabase<I, R>(
  client: Client,
  config: Config,
  workflow: (input: I) => Promise<R>,
  input: I,
  database: string,
): Promise<WorkflowHandleWithFirstExecutionRunId<(input: I) => Promise<R>>> {
  const workflowId = databaseWorkflowId(config.temporal.taskQueue, database);
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
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(
        `another pgkeeper operation on database "${database}" is running (${workflowId}); nothing was started. Wait for it, or see ${workflowUrl(config, workflowId)}`,
      );
    }
    throw err;
  }
}
