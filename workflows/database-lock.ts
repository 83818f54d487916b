/**
 * One operation per database at a time. Work on a database always runs under the fixed workflow
 * id `pgkeeper:<task queue>:<database>`, so Temporal itself refuses a second one. A run started
 * under another id (Temporal UI, a schedule's timestamped id) hands its input to a child under
 * the fixed id and returns the child's result; if that id is busy, the caller decides what to say.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ChildWorkflowCancellationType, ParentClosePolicy, startChild, WorkflowIdReusePolicy, workflowInfo } from '@temporalio/workflow';
import { databaseWorkflowId } from '../common/names.js';

export type LockOutcome<R> = { kind: 'holder' } | { kind: 'delegated'; result: R } | { kind: 'busy'; workflowId: string };

export function isLockHolder(database: string): boolean {
  const { workflowId, taskQueue } = workflowInfo();
  return workflowId === databaseWorkflowId(taskQueue, database);
}

/**
 * Runs `workflow(input)` as the database's lock holder, unless this run is it already. `onHandedOff`
 * is called once the holder runs: from then on its outcome is this run's. A failed holder's error passes through.
 */
export async function runUnderDatabaseLock<I, R>(database: string, workflow: (input: I) => Promise<R>, input: I, onHandedOff: () => void): Promise<LockOutcome<R>> {
  const { taskQueue } = workflowInfo();
  if (isLockHolder(database)) return { kind: 'holder' };
  const lockId = databaseWorkflowId(taskQueue, database);
  let child;
  try {
    child = await startChild(workflow, {
      workflowId: lockId,
      args: [input],
      taskQueue,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      // Cancelling this run cancels the work and waits for its cleanup (tools killed, staging dropped).
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { kind: 'busy', workflowId: lockId };
    throw err;
  }
  onHandedOff();
  return { kind: 'delegated', result: await child.result() };
}

/** What a run that found the database busy says. */
export function busyReason(database: string, holder: string): string {
  return `another pgkeeper operation on "${database}" is running (${holder})`;
}
