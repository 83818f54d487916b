/** `pgkeeper history [database]`: who ran what, when, how it ended, and why a run failed. From Temporal. */
import type { Client } from '@temporalio/client';
import type { Config } from '../../common/config.js';
import { rootCauseMessage } from '../../common/failure-message.js';
import { mapWithConcurrency } from '../../common/map-with-concurrency.js';
import { formatDuration, printJson, showable, table, utcTime } from '../format.js';
import { listRuns, type RunRecord } from '../visibility.js';

/** Failed runs' reasons are read a few at a time: one request each, for the run's closing event. */
const REASON_CONCURRENCY = 4;

/**
 * Why a run that ended badly ended so, in its own first line (visibility keeps no failure): an
 * auditor reading history should not need the UI to learn what a failed run said.
 */
async function failureReason(client: Client, run: RunRecord): Promise<string | undefined> {
  if (run.outcome === 'completed' || run.outcome === 'running' || run.outcome === 'skipped' || run.outcome === 'dry-run') return undefined;
  return client.workflow
    .getHandle(run.workflowId, run.runId)
    .result()
    .then(
      () => undefined,
      (err: unknown) => rootCauseMessage(err),
    );
}

export async function historyCommand(client: Client, config: Config, database: string | undefined, options: { limit: number; json?: boolean }): Promise<void> {
  const runs = await listRuns(client, config, { database }, options.limit);
  const reasons = await mapWithConcurrency(runs, REASON_CONCURRENCY, (r) => failureReason(client, r).catch(() => undefined));
  if (options.json) return printJson(runs.map((r, i) => (reasons[i] !== undefined ? { ...r, reason: reasons[i] } : r)));
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
  // Below the table, as status lists DAMAGED backups: a reason is too long for a column.
  runs.forEach((r, i) => {
    if (reasons[i] !== undefined) process.stdout.write(showable(`${r.outcome.toUpperCase()} ${utcTime(r.startTime.toISOString())} ${r.operation} of ${r.database}: ${reasons[i]}`) + '\n');
  });
}
