/** `pgkeeper history [database]`: who ran what, when, how it ended. From Temporal visibility. */
import type { Client } from '@temporalio/client';
import type { Config } from '../../common/config.js';
import { formatDuration, printJson, table, utcTime } from '../format.js';
import { listRuns } from '../visibility.js';

export async function historyCommand(client: Client, config: Config, database: string | undefined, options: { limit: number; json?: boolean }): Promise<void> {
  const runs = await listRuns(client, config, { database }, options.limit);
  if (options.json) return printJson(runs);
  if (runs.length === 0) {
    process.stdout.write(`no pgkeeper runs${database ? ` for "${database}"` : ''} on task queue ${config.temporal.taskQueue}\n`);
    return;
  }
  const rows = [['STARTED (UTC)', 'OPERATION', 'DATABASE', 'BY', 'OUTCOME', 'BACKUP', 'DURATION']];
  for (const r of runs) {
    rows.push([
      utcTime(r.startTime.toISOString()),
      r.operation,
      r.database,
      r.startedBy,
      r.outcome,
      // A backup run that did not complete made no backup: the id it would have had names none.
      r.operation === 'backup' && r.outcome !== 'completed' && r.outcome !== 'running' ? '-' : (r.backupId ?? '-'),
      r.closeTime ? formatDuration(r.closeTime.getTime() - r.startTime.getTime()) : 'running',
    ]);
  }
  process.stdout.write(table(rows) + '\n');
}
