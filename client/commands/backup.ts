/** `pgkeeper backup <database>`: start a backup under the database's fixed workflow id. */
import type { Client } from '@temporalio/client';
import { normalizeBackupInput, type BackupInput } from '../../common/backup-input.js';
import type { Config } from '../../common/config.js';
import { refuseUnlistableName } from '../../common/names.js';
import type { BackupPhase, BackupResult, BackupSkipped } from '../../common/types.js';
import type { backupDatabase } from '../../workflows/backup-database.js';
import { checkInput, failedRun } from '../cli-error.js';
import { databaseArgumentSurface } from '../cli-surface.js';
import { count, formatBytes, formatDuration, showLines } from '../format.js';
import { announceOnceChecked } from '../first-steps.js';
import { showProgress } from '../progress.js';
import { announceStart, startOnDatabase } from '../start-workflow.js';
import { workflowOutcome } from '../workflow-outcome.js';

/** Where a backup may still be refused (a database that is not there, a pg_dump too old): watched without --wait. */
const REFUSING_PHASES: ReadonlySet<BackupPhase> = new Set(['starting', 'waiting for database']);

export interface BackupCommandOptions {
  compression?: string;
  compressLevel?: number;
  verify?: string;
  wait?: boolean;
}

export function startBackup(client: Client, config: Config, input: BackupInput) {
  return startOnDatabase<typeof backupDatabase>(client, config, 'backupDatabase', input, input.database);
}

export function printBackupResult(result: BackupResult | BackupSkipped, out: NodeJS.WritableStream = process.stdout): void {
  if (result.status === 'skipped') {
    out.write(showLines([result.reason]));
    return;
  }
  const deleted = result.retention.deleted.filter((d) => d.ids.length > 0);
  const swept = (result.retention.swept ?? []).filter((s) => s.keys.length > 0); // none from a worker older than this CLI
  const retention = [
    // A few ids, then a count: a first run of a tighter policy may delete thousands.
    ...deleted.map((d) => `deleted ${d.ids.slice(0, 5).join(', ')}${d.ids.length + (d.notListed ?? 0) > 5 ? ` and ${d.ids.length + (d.notListed ?? 0) - 5} more` : ''} in ${d.store}`),
    ...swept.map((s) => `swept ${count(s.keys.length, 'leftover')} (unfinished writes, backups without a manifest, stale pins) in ${s.store}`),
  ];
  out.write(
    showLines([
      `backup ${result.backupId} completed`,
      `  archive    ${result.archiveKey}`,
      ...result.stores.flatMap((s) => [`  ${s.role === 'primary' ? 'stored in ' : 'copied to '} ${s.store}`, ...(s.skipped ?? []).map((k) => `  NOT COPIED ${k.id}: ${k.reason}`)]),
      `  size       ${formatBytes(result.sizeBytes)} (${result.compression}${result.encrypted ? ', age-encrypted' : ''}, ${count(result.tables, 'table')}, verify ${result.verify})`,
      `  sha256     ${result.sha256}`,
      `  took       ${formatDuration(result.durationsMs.total)} (dump ${formatDuration(result.durationsMs.dump)}${result.durationsMs.copy > 0 ? `, copies ${formatDuration(result.durationsMs.copy)}` : ''})`,
      `  retention  ${retention.length ? retention.join('; ') : 'nothing deleted'}`,
      ...(result.warnings ?? []).map((w) => `  warning    ${w}`),
    ]),
  );
}

export async function backupCommand(connect: () => Promise<Client>, config: Config, database: string, options: BackupCommandOptions): Promise<void> {
  const input: BackupInput = {
    database,
    ...(options.compression !== undefined ? { compression: options.compression } : {}),
    ...(options.compressLevel !== undefined ? { compressLevel: options.compressLevel } : {}),
    ...(options.verify !== undefined ? { verify: options.verify as BackupInput['verify'] } : {}),
  };
  checkInput(() => normalizeBackupInput(input, databaseArgumentSurface));
  checkInput(() => refuseUnlistableName(database));
  const handle = await startBackup(await connect(), config, input);
  const what = `backup of "${database}"`;
  const failed = (err: unknown) => failedRun(`${what} failed`, err);
  if (!options.wait) return announceOnceChecked(config, what, handle, REFUSING_PHASES, failed);
  announceStart(config, what, handle);
  try {
    printBackupResult(await showProgress(handle, workflowOutcome(handle, config.temporal.address), config.temporal.taskQueue));
  } catch (err) {
    throw failed(err);
  }
}
