/** `pgkeeper backup <database>`: start a backup under the database's fixed workflow id. */
import type { Client } from '@temporalio/client';
import { normalizeBackupInput } from '../../common/backup-input.js';
import type { Config } from '../../common/config.js';
import type { BackupInput, BackupResult, BackupSkipped } from '../../common/types.js';
import { backupDatabase } from '../../workflows/index.js';
import { checkInput, CliError, rootCauseMessage } from '../cli-error.js';
import { formatBytes, formatDuration } from '../format.js';
import { showProgress } from '../progress.js';
import { announceStart, startOnDatabase } from '../start-workflow.js';

export interface BackupCommandOptions {
  compressLevel?: number;
  verify?: string;
  wait?: boolean;
}

export function startBackup(client: Client, config: Config, input: BackupInput) {
  return startOnDatabase(client, config, backupDatabase, input, input.database);
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
      `  size       ${formatBytes(result.sizeBytes)} (compress level ${result.compressLevel}, ${result.tables} tables, verify ${result.verify})`,
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
  const input: BackupInput = {
    database,
    ...(options.compressLevel !== undefined ? { compressLevel: options.compressLevel } : {}),
    ...(options.verify !== undefined ? { verify: options.verify as BackupInput['verify'] } : {}),
  };
  checkInput(() => normalizeBackupInput(input));
  const handle = await startBackup(await connect(), config, input);
  announceStart(config, `backup of "${database}"`, handle);
  if (!options.wait) return;
  try {
    printBackupResult(await showProgress(handle, handle.result()));
  } catch (err) {
    throw new CliError(`backup of "${database}" failed: ${rootCauseMessage(err)}`);
  }
}
