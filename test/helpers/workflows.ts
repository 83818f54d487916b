/** Running pgkeeper workflows in tests, the way the CLI does (fixed per-database workflow id). */
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Config } from '../../common/config.js';
import { databaseWorkflowId } from '../../common/names.js';
import type { BackupInput } from '../../common/backup-input.js';
import type { RestoreInput } from '../../common/restore-input.js';
import type { BackupResult } from '../../common/types.js';
import { backupDatabase, restoreDatabase } from '../../workflows/index.js';

export async function runBackup(env: TestWorkflowEnvironment, config: Config, database: string, options: Omit<BackupInput, 'database'> = {}): Promise<BackupResult> {
  const result = await env.client.workflow.execute(backupDatabase, {
    args: [{ database, ...options }],
    taskQueue: config.temporal.taskQueue,
    workflowId: databaseWorkflowId(config.temporal.taskQueue, database),
  });
  if (result.status !== 'completed') throw new Error(`backup of ${database} did not complete: ${result.reason}`);
  return result;
}

export function startRestore(env: TestWorkflowEnvironment, config: Config, input: RestoreInput) {
  return env.client.workflow.start(restoreDatabase, {
    args: [input],
    taskQueue: config.temporal.taskQueue,
    workflowId: databaseWorkflowId(config.temporal.taskQueue, input.target),
  });
}

export async function runRestore(env: TestWorkflowEnvironment, config: Config, input: RestoreInput) {
  return (await startRestore(env, config, input)).result();
}

/** The failure at the bottom of a workflow failure chain: its type and message are what a user sees. */
export function rootFailure(err: unknown): Error & { type?: string } {
  let current = err as Error & { type?: string; cause?: unknown };
  while (current.cause) current = current.cause as typeof current;
  return current;
}

/**
 * The attempts the run's first activity of type `activity` was started with, as its history
 * records them (Temporal writes one started event, with the last attempt): [1] when it was never retried.
 */
export async function startedAttempts(handle: WorkflowHandle, activity: string): Promise<number[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity);
  return events.filter((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId)).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0);
}
