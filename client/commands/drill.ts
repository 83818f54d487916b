/** `pgkeeper drill <database>`: a restore drill of the newest backup, on demand. */
import type { Client } from '@temporalio/client';
import type { Config } from '../../common/config.js';
import { normalizeDrillInput } from '../../common/drill-input.js';
import type { restoreDrill } from '../../workflows/restore-drill.js';
import { checkInput, failedRun } from '../cli-error.js';
import { databaseArgumentSurface } from '../cli-surface.js';
import { count, formatDuration, showLines } from '../format.js';
import { showProgress } from '../progress.js';
import { startAnnounced } from '../start-workflow.js';
import { workflowOutcome } from '../workflow-outcome.js';

export async function drillCommand(connect: () => Promise<Client>, config: Config, database: string, options: { wait?: boolean; store?: string; jobs?: number }): Promise<void> {
  const input = { database, ...(options.store !== undefined ? { store: options.store } : {}), ...(options.jobs !== undefined ? { jobs: options.jobs } : {}) };
  checkInput(() => normalizeDrillInput(input, databaseArgumentSurface));
  // Connected after the input checks: a mistyped name is said even with Temporal down.
  const handle = await startAnnounced<typeof restoreDrill>(await connect(), config, 'restoreDrill', input, `pgkeeper-drill:${config.temporal.taskQueue}:${database}`, `restore drill of "${database}"`);
  if (!options.wait) return;
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
    throw failedRun(`restore drill of "${database}" FAILED`, err);
  }
}
