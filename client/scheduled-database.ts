/**
 * The databases on the worker's server, asked of the worker (the CLI has no access to PostgreSQL):
 * `schedule create` checks the name it is given (a mistyped one would otherwise fail every night
 * until someone reads `pgkeeper status`), and `status` shows the databases an --all schedule backs
 * up. Not being able to ask (no worker yet, the server down) stops neither: it is said instead.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { Config } from '../common/config.js';
import { listedNames } from '../common/names.js';
import { lastArgument } from '../common/shell-word.js';
import type { BackupListing, ServerDatabases } from '../common/types.js';
import type { listBackups } from '../workflows/list-backups.js';
import type { listDatabases } from '../workflows/list-databases.js';
import { rootCauseMessage } from './cli-error.js';
import { askWorker, NoAnswer, NoWorker } from './worker-workflow.js';

/**
 * A worker answers in well under a second, and one whose server is down fails as fast; Temporal
 * goes on listing a worker that stopped a moment ago (and one older than this CLI cannot answer):
 * the question is a courtesy not worth a long wait.
 */
const QUESTION_TIMEOUT_MS = 15_000;

/** The server's databases, or why they could not be had (in words that follow "because"). */
export async function askServerDatabases(client: Client, config: Config): Promise<{ found: ServerDatabases } | { unanswered: string; workerAnswered?: true }> {
  const queue = config.temporal.taskQueue;
  try {
    return { found: await askWorker<typeof listDatabases>(client, config, 'listDatabases', undefined, { timeoutMs: QUESTION_TIMEOUT_MS, hint: false, workerGraceMs: 0 }) };
  } catch (err) {
    if (err instanceof NoWorker) return { unanswered: `no pgkeeper worker polls task queue "${queue}"` };
    if (err instanceof NoAnswer) return { unanswered: `the worker on task queue "${queue}" did not answer within ${QUESTION_TIMEOUT_MS / 1000} s: it may be busy, stopping, or older than this CLI` };
    if (err instanceof WorkflowFailedError) return { unanswered: `the worker could not list its server's databases: ${rootCauseMessage(err)}`, workerAnswered: true };
    throw err; // Temporal itself (unreachable, no such namespace): the command's own failure
  }
}

export type DatabaseCheck = { kind: 'present' } | { kind: 'missing'; message: string } | { kind: 'unchecked'; note: string };

export async function checkScheduledDatabase(client: Client, config: Config, database: string): Promise<DatabaseCheck> {
  const asked = await askServerDatabases(client, config);
  if ('unanswered' in asked) return { kind: 'unchecked', note: `whether database "${database}" exists was not checked (${asked.unanswered}); its first scheduled backup fails if it does not` };
  if (asked.found.databases.includes(database)) return { kind: 'present' };
  return { kind: 'missing', message: `${notOnServer(asked.found, database)}; check the name, or create the database first` };
}

/**
 * For a schedule that reads a database's backups (a verify, a drill). One dropped since still has
 * backups worth reading, so only a name that is neither on the server nor in any store is refused:
 * a typo would otherwise make a schedule that fails every week, having read nothing. One on the
 * server with no backup yet is taken, with a note.
 */
export async function checkBackedUpDatabase(client: Client, config: Config, database: string, run: 'verify' | 'drill'): Promise<DatabaseCheck> {
  const asked = await askServerDatabases(client, config);
  // Asked even with the server down (the stores alone can say the name is right), not of a worker
  // that is absent or did not answer (a second wait for nothing).
  const stored = 'found' in asked || asked.workerAnswered ? await askStores(client, config, database) : false;
  if (stored === true) return { kind: 'present' };
  if ('found' in asked && asked.found.databases.includes(database)) {
    // The name is right; the schedule is kept, since a backup may well come first, but said.
    if (stored !== false) return { kind: 'present' };
    const backup = `\`pgkeeper backup ${lastArgument(database)}\`, or a backup schedule: \`pgkeeper schedule create ${lastArgument(database)}\``;
    return { kind: 'unchecked', note: `no store holds a backup of "${database}" yet: its scheduled ${run} fails until one is made (${backup})` };
  }
  // Says what is known, and what was not checked.
  const unchecked = (known: string): DatabaseCheck => ({ kind: 'unchecked', note: `${known}; its scheduled ${run} fails while no store holds a backup of it` });
  if ('unanswered' in asked) {
    if (stored === false) {
      return unchecked(
        asked.workerAnswered
          ? `no store holds a backup of "${database}"; whether it exists on the server was not checked (${asked.unanswered})`
          : `whether database "${database}" exists or has backups was not checked (${asked.unanswered})`,
      );
    }
    return unchecked(`whether database "${database}" exists or has backups was not checked (${asked.unanswered}; ${stored.unanswered})`);
  }
  if (stored !== false) return unchecked(`${notOnServer(asked.found, database)}; whether a store holds a backup of it was not checked (${stored.unanswered})`);
  return { kind: 'missing', message: `no store holds a backup of "${database}" (\`pgkeeper backups\` lists what they hold), and ${notOnServer(asked.found, database)}; check the name` };
}

/** Whether a store holds a backup of `database` (the first page of its listing), or why that is not known. */
async function askStores(client: Client, config: Config, database: string): Promise<boolean | { unanswered: string }> {
  let page: BackupListing;
  try {
    page = await askWorker<typeof listBackups>(client, config, 'listBackups', { database }, { timeoutMs: QUESTION_TIMEOUT_MS, hint: false, workerGraceMs: 0 });
  } catch (err) {
    if (err instanceof NoWorker) return { unanswered: `no pgkeeper worker polls task queue "${config.temporal.taskQueue}"` };
    if (err instanceof NoAnswer) return { unanswered: `the worker did not list the stores within ${QUESTION_TIMEOUT_MS / 1000} s` };
    if (err instanceof WorkflowFailedError) return { unanswered: `the worker could not list the stores: ${rootCauseMessage(err)}` };
    throw err;
  }
  if (page.backups.length > 0) return true;
  if (page.unreachable.length > 0) return { unanswered: page.unreachable.map((u) => `store ${u.store} could not be read: ${u.reason}`).join('; ') };
  return false;
}

function notOnServer(found: ServerDatabases, database: string): string {
  const listed = found.databases.filter((db) => !(found.templates ?? []).includes(db));
  return `database "${database}" does not exist on ${found.server} (databases there: ${listedNames(listed)})`;
}
