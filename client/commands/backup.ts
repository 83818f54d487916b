/** `pgkeeper backup <database>`: start a backup under the database's fixed workflow id. */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { normalizeBackupInput } from '../../common/backup-input.js';
import type { Config } from '../../common/config.js';
import { databaseWorkflowId } from '../../common/names.js';
import type { BackupInput, BackupResult, BackupSkipped } from '../../common/types.js';
import { backupDatabase } from '../../workflows/index.js';
import { CliError, rootCauseMessage } from '../cli-error.js';
import { formatBytes, formatDuration } from '../format.js';
import { showProgress } from '../progress.js';
import { workflowUrl } from '../temporal.js';

export interface BackupCommandOptions {
  compressLevel?: number;
  wait?: boolean;
}

export async function startBackup(client: Client, config: Config, input: BackupInput) {
  const workflowId = databaseWorkflowId(config.temporal.taskQueue, input.database);
  try {
    return await client.workflow.start(backupDatabase, {
      args: [input],
      taskQueue: config.temporal.taskQueue,
      workflowId,
      // One operation per database at a time: Temporal refuses a second start under the same id.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(
        `an operation on database "${input.database}" is already running (${workflowId}); wait for it or see ${workflowUrl(config, workflowId)}`,
      );
    }
    throw err;
  }
}

export function printBackupResult(result: BackupResult | BackupSkipped, out: NodeJS.WritableStream = process.stdout): void {
  if (result.status === 'skipped') {
    out.write(`${result.reason}\n`);
    return;
  }
  out.write(
    [
      `backup ${result.backupId} completed`,
      `  file       ${result.dumpPath}`,
      `  size       ${formatBytes(result.sizeBytes)} (compress level ${result.compressLevel}, ${result.tables} tables)`,
      `  sha256     ${result.sha256}`,
      `  took       ${formatDuration(result.durationsMs.total)} (dump ${formatDuration(result.durationsMs.dump)}, verify ${formatDuration(result.durationsMs.verify)})`,
      `  retention  kept ${result.retention.kept}, deleted ${result.retention.deleted.length}${result.retention.deleted.length ? `: ${result.retention.deleted.join(', ')}` : ''}`,
    ].join('\n') + '\n',
  );
}

export async function backupCommand(
  connect: () => Promise<Client>,
  config: Config,
  database: string,
  options: BackupCommandOptions,
): Promise<void> {
  const input: BackupInput = { database, ...(options.compressLevel !== undefined ? { compressLevel: options.compressLevel } : {}) };
  try {
    normalizeBackupInput(input); // same validation as the workflow, before anything is started
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const handle = await startBackup(await connect(), config, input);
  process.stdout.write(`started backup of "${database}"\n  workflow  ${handle.workflowId}\n  ui        ${workflowUrl(config, handle.workflowId, handle.firstExecutionRunId)}\n`);
  if (!options.wait) return;
  try {
    printBackupResult(await showProgress(handle, handle.result()));
  } catch (err) {
    throw new CliError(`backup of "${database}" failed: ${rootCauseMessage(err)}`);
  }
}
