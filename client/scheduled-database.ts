/**
 * The databases on the worker's server, asked of the worker (the CLI has no access to PostgreSQL):
 * `schedule create` checks the name it is given (a mistyped one would otherwise fail every night
 * until someone reads `pgkeeper status`), and `status` shows the databases an --all schedule backs
 * up. Not being able to ask (no worker yet, the server down) stops neither: it is said instead.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { Config } from '../common/config.js';
import { listedNames } from '../common/names.js';
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
export async function askServerDatabases(client: Client, config: Config): Promise<{ found: ServerDatabases } | { unanswered: string }> {
  const queue = config.temporal.taskQueue;
  try {
    return { found: await askWorker<typeof listDatabases>(client, config, 'listDatabases', undefined, { timeoutMs: QUESTION_TIMEOUT_MS, hint: false, workerGraceMs: 0 }) };
  } catch (err) {
    if (err instanceof NoWorker) return { unanswered: `no pgkeeper worker polls task queue "${queue}"` };
    if (err instanceof NoAnswer) return { unanswered: `the worker on task queue "${queue}" did not answer within ${QUESTION_TIMEOUT_MS / 1000} s: it may be busy, stopping, or older than this CLI` };
    if (err instanceof WorkflowFailedError) return { unanswered: `the worker could not list its server's databases: ${rootCauseMessage(err)}` };
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
 * For a verify schedule of one database. One dropped since still has backups worth reading back, so
 * only a name that is neither on the server nor in any store is refused: a typo would otherwise
 * make a schedule that fails every week, having read nothing.
 */
export async function checkVerifiedDatabase(client: Client, config: Config, database: string): Promise<DatabaseCheck> {
  const unchecked = (why: string): DatabaseCheck => ({ kind: 'unchecked', note: `whether any store holds backups of "${database}" was not checked (${why}); its scheduled verify fails while none does` });
  const asked = await askServerDatabases(client, config);
  if ('unanswered' in asked) return unchecked(asked.unanswered);
  if (asked.found.databases.includes(database)) return { kind: 'present' };
  let page: BackupListing;
  try {
    page = await askWorker<typeof listBackups>(client, config, 'listBackups', { database }, { timeoutMs: QUESTION_TIMEOUT_MS, hint: false, workerGraceMs: 0 });
  } catch (err) {
    if (err instanceof NoWorker || err instanceof NoAnswer || err instanceof WorkflowFailedError) return unchecked(`the worker could not list the stores: ${err instanceof WorkflowFailedError ? rootCauseMessage(err) : err.message}`);
    throw err;
  }
  if (page.backups.length > 0) return { kind: 'present' };
  if (page.unreachable.length > 0) return unchecked(`store ${page.unreachable[0]!.store} did not answer`);
  return { kind: 'missing', message: `no store holds a backup of "${database}", and ${notOnServer(asked.found, database)}; check the name` };
}

function notOnServer(found: ServerDatabases, database: string): string {
  const listed = found.databases.filter((db) => !(found.templates ?? []).includes(db));
  return `database "${database}" does not exist on ${found.server} (databases there: ${listedNames(listed)})`;
}
