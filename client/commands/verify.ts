/**
 * `pgkeeper verify [database]`: read every stored archive back and hold it against its manifest,
 * in every store (or `--store`), recording damage where it is found. With `--wait`, what was found
 * (with `--json`, which waits too, the whole result as JSON, for monitoring); exit code 3 (as
 * `status`) when an archive is damaged or could not be read, or a store did not answer: the run
 * failed then, and its details hold the whole result.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../../common/config.js';
import { rootCauseDetails } from '../../common/failure-message.js';
import type { VerifyResult } from '../../common/types.js';
import { normalizeVerifyInput } from '../../common/verify-input.js';
import type { verifyBackups } from '../../workflows/verify-backups.js';
import { checkInput, failedRun } from '../cli-error.js';
import { databaseArgumentSurface } from '../cli-surface.js';
import { count, formatBytes, formatDuration, printJson, showable, showLines } from '../format.js';
import { announceOnceChecked } from '../first-steps.js';
import { showProgress } from '../progress.js';
import { startAnnounced } from '../start-workflow.js';
import { sayIfUntaken } from '../worker-workflow.js';
import { workflowOutcome } from '../workflow-outcome.js';

export function verifyLines(result: VerifyResult): string[] {
  const total = result.intact + result.problems.length + result.problemsNotListed;
  const verdicts = [
    `${result.intact} intact`,
    ...(['damaged', 'unreadable'] as const).flatMap((v) => {
      const listed = result.problems.filter((a) => a.verdict === v).length;
      const n = result[v] ?? listed;
      return n > 0 ? [`${n} ${v.toUpperCase()}${n > listed ? ` (${listed} listed)` : ''}`] : [];
    }),
    // An older worker's result does not say of which kind the problems not listed are.
    ...(result.problemsNotListed > 0 && result.damaged === undefined ? [`${result.problemsNotListed} more not listed`] : []),
  ];
  const answered = result.stores.filter((s) => !result.unreachable.some((u) => u.store === s));
  const read = answered.filter((s) => !result.empty.includes(s));
  const of = result.database !== undefined ? ` of "${result.database}"` : '';
  return [
    total === 0
      ? answered.length === 0
        ? 'no store could be read'
        : `no backups${of} in ${answered.join(', ')}`
      : `verified ${count(total, 'archive')} in ${count(read.length, 'store')}: ${verdicts.join(', ')} (${formatBytes(result.bytesRead)} read in ${formatDuration(result.durationMs)})`,
    ...result.problems.map((a) => `  ${a.verdict.toUpperCase().padEnd(11)} ${a.id} in ${a.store}: ${showable(a.reason)}`),
    ...(result.problemsNotListed > 0 ? [`  … and ${result.problemsNotListed} more (\`pgkeeper backups\` lists every DAMAGED one)`] : []),
    ...result.unreachable.map((u) => `  UNREACHABLE ${u.store}: ${showable(u.reason)}`),
    ...(total > 0 ? result.empty.map((store) => `  EMPTY       ${store}: no backups${of} there`) : []),
    ...result.warnings.map((w) => `  warning     ${showable(w)}`),
  ];
}

const VERIFY_WATCH_MS = 3_000;

/** Returns whether something needs attention (exit code 3). */
export async function verifyCommand(connect: () => Promise<Client>, config: Config, database: string | undefined, options: { wait?: boolean; json?: boolean; store?: string }): Promise<boolean> {
  const input = { ...(database !== undefined ? { database } : {}), ...(options.store !== undefined ? { store: options.store } : {}) };
  checkInput(() => normalizeVerifyInput(input, databaseArgumentSurface));
  // With --json, stdout is the result alone; the start and progress go to a terminal's stderr, and
  // nowhere when stderr is a file or pipe (a cron job's mail): it holds the report when something
  // needs attention, a failure (the workflow named), or nothing.
  const chatter = !options.json ? process.stdout : process.stderr.isTTY ? process.stderr : null;
  // Connected after the input checks: a mistyped name is said even with Temporal down.
  const what = `verify of ${database !== undefined ? `"${database}"'s backups` : 'every backup'}${options.store !== undefined ? ` in ${options.store}` : ''}`;
  const watched = !options.wait && !options.json;
  const handle = await startAnnounced<typeof verifyBackups>(await connect(), config, 'verifyBackups', input, `pgkeeper-verify:${config.temporal.taskQueue}:${database ?? '*'}`, what, watched ? null : chatter);
  const print = (result: VerifyResult) => (options.json ? printJson(result) : process.stdout.write(showLines(verifyLines(result))));
  try {
    if (watched) {
      // A store that is not configured is refused in the first second; reading everything back
      // takes as long as the stores hold, so only a few seconds are watched.
      await announceOnceChecked(config, what, handle, new Set(['reading the archives back']), (err) => err as Error, VERIFY_WATCH_MS);
      return false;
    }
    const outcome = workflowOutcome(handle, config.temporal.address);
    print(await (chatter ? showProgress(handle, outcome, config.temporal.taskQueue) : outcome.finally(sayIfUntaken(handle, config.temporal.taskQueue))));
    return false;
  } catch (err) {
    // What needs attention fails the run (so it notifies); the whole result is in its details.
    const found = rootCauseDetails(err)?.[0] as VerifyResult | undefined;
    if (!found?.problems) throw failedRun(chatter ? 'verify FAILED' : `verify FAILED (workflow ${handle.workflowId})`, err);
    print(found);
    // The report for a person (warnings aside), whatever reads the JSON.
    if (options.json) process.stderr.write(showLines(verifyLines({ ...found, warnings: [] })));
    return true;
  }
}
