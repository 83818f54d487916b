/**
 * One operation per database at a time. Work on a database always runs under the fixed workflow
 * id `pgkeeper:<task queue>:<database>`, so Temporal itself refuses a second one. A run started
 * under another id (Temporal UI, a schedule's timestamped id) hands its input to a child under
 * the fixed id and returns the child's result; if that id is busy, the caller decides what to say.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ChildWorkflowCancellationType,
  executeChild,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { databaseWorkflowId } from '../common/names.js';

export type LockOutcome<R> = { kind: 'holder' } | { kind: 'delegated'; result: R } | { kind: 'busy'; workflowId: string };

export async function runUnderDatabaseLock<I, R>(
  database: string,
  workflow: (input: I) => Promise<R>,
  input: I,
): Promise<LockOutcome<R>> {
  const { workflowId, taskQueue } = workflowInfo();
  const lockId = databaseWorkflowId(taskQueue, database);
  if (workflowId === lockId) return { kind: 'holder' };
  try {
    const result = await executeChild(workflow, {
      workflowId: lockId,
      args: [input],
      taskQueue,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      // Cancelling this run cancels the work and waits for its cleanup (pg tools killed, staging dropped).
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
    return { kind: 'delegated', result };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { kind: 'busy', workflowId: lockId };
    throw err;
  }
}
