/** `pgkeeper drill <database>`: a restore drill of the newest backup, on demand. */
import type { Client } from '@temporalio/client';
import type { Config } from '../../common/config.js';
import { validateDatabaseName } from '../../common/names.js';
import { restoreDrill } from '../../workflows/index.js';
import { checkInput, CliError, rootCauseMessage } from '../cli-error.js';
import { formatDuration } from '../format.js';
import { showProgress } from '../progress.js';
import { announceStart } from '../start-workflow.js';

export async function drillCommand(client: Client, config: Config, database: string, options: { wait?: boolean }): Promise<void> {
  checkInput(() => validateDatabaseName(database));
  const handle = await client.workflow.start(restoreDrill, {
    args: [{ database }],
    taskQueue: config.temporal.taskQueue,
    workflowId: `pgkeeper-drill:${config.temporal.taskQueue}:${database}:${new Date().toISOString()}`,
  });
  announceStart(config, `restore drill of "${database}"`, handle);
  if (!options.wait) return;
  try {
    const proof = await showProgress(handle, handle.result());
    process.stdout.write(
      `restore of ${proof.backupId} proven: ${proof.tables} tables, ${proof.rows} rows in ${formatDuration(proof.durationsMs.total)}\n` +
        `  proof      ${proof.proofPath ?? 'not recorded: the backup was deleted by retention during the drill'}\n`,
    );
  } catch (err) {
    throw new CliError(`restore drill of "${database}" FAILED: ${rootCauseMessage(err)}`);
  }
}
