/** `pgkeeper drill <database>`: a restore drill of the newest backup, on demand. */
import type { Client } from '@temporalio/client';
import type { Config } from '../../common/config.js';
import { normalizeDrillInput } from '../../common/drill-input.js';
import type { restoreDrill } from '../../workflows/restore-drill.js';
import { checkInput, failedRun } from '../cli-error.js';
import { databaseArgumentSurface } from '../cli-surface.js';
import { count, formatDuration, showLines } from '../format.js';
import { announceOnceChecked } from '../first-steps.js';
import { showProgress } from '../progress.js';
import { startAnnounced } from '../start-workflow.js';
import { workflowOutcome } from '../workflow-outcome.js';

export async function drillCommand(connect: () => Promise<Client>, config: Config, database: string, options: { wait?: boolean; store?: string; jobs?: number }): Promise<void> {
  const input = { database, ...(options.store !== undefined ? { store: options.store } : {}), ...(options.jobs !== undefined ? { jobs: options.jobs } : {}) };
  checkInput(() => normalizeDrillInput(input, databaseArgumentSurface));
  // Connected after the input checks: a mistyped name is said even with Temporal down.
  const what = `restore drill of "${database}"`;
  const failed = (err: unknown) => failedRun(`${what} FAILED`, err);
  const handle = await startAnnounced<typeof restoreDrill>(await connect(), config, 'restoreDrill', input, `pgkeeper-drill:${config.temporal.taskQueue}:${database}`, what, options.wait ? process.stdout : null);
  // No backup, none readable here, or no identity for it: said now, not only in history.
  if (!options.wait) return announceOnceChecked(config, what, handle, new Set(['resolving backup', 'waiting for database']), failed);
  try {
    const proof = await showProgress(handle, workflowOutcome(handle, config.temporal.address), config.temporal.taskQueue);
    process.stdout.write(
      showLines([
        `restore of ${proof.backupId} (from ${proof.store}) proven: ${count(proof.tables, 'table')}, ${count(proof.rows, 'row')} in ${formatDuration(proof.durationsMs.total)}`,
        `  proof      ${proof.proofRecorded ? `${proof.database}/${proof.backupId}.drill.json in ${proof.store}` : `not recorded: ${proof.proofNotRecorded ?? 'see the workflow history'}`}`,
        // A drill is how damage is found: a store passed over for a damaged copy is said, as restore says it.
        ...proof.warnings.map((w) => `  warning    ${w}`),
      ]),
    );
  } catch (err) {
    throw failed(err);
  }
}
