/**
 * Whether the database a new backup schedule names exists on the worker's server, asked of the
 * worker (the CLI has no access to PostgreSQL): a mistyped name would otherwise fail every night
 * until someone reads `pgkeeper status`. A check that cannot be made (no worker yet, the server
 * down) does not stop the schedule: it is said, and the first run fails loudly if the name is wrong.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../common/config.js';
import { listedNames } from '../common/names.js';
import type { ServerDatabases } from '../common/types.js';
import type { listDatabases } from '../workflows/list-databases.js';
import { CliError, rootCauseMessage } from './cli-error.js';
import { askWorker, NoAnswer, requireWorker } from './worker-workflow.js';

/**
 * A worker answers in well under a second, and one whose server is down fails as fast; Temporal
 * goes on listing a worker that stopped a moment ago (and one older than this CLI cannot answer):
 * the check is a courtesy not worth a long wait.
 */
const CHECK_TIMEOUT_MS = 15_000;

export type DatabaseCheck = { kind: 'present' } | { kind: 'missing'; message: string } | { kind: 'unchecked'; note: string };

export async function checkScheduledDatabase(client: Client, config: Config, database: string): Promise<DatabaseCheck> {
  const unchecked = (why: string): DatabaseCheck => ({ kind: 'unchecked', note: `whether database "${database}" exists was not checked (${why}); its first scheduled backup fails if it does not` });
  try {
    await requireWorker(client, config, 0);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    return unchecked(`no pgkeeper worker polls task queue "${config.temporal.taskQueue}"`);
  }
  let found: ServerDatabases;
  try {
    found = await askWorker<typeof listDatabases>(client, config, 'listDatabases', undefined, { timeoutMs: CHECK_TIMEOUT_MS, hint: false });
  } catch (err) {
    if (err instanceof NoAnswer) return unchecked(`the worker on task queue "${config.temporal.taskQueue}" did not answer within ${CHECK_TIMEOUT_MS / 1000} s: it may be busy, stopping, or older than this CLI`);
    return unchecked(`the worker could not list its server's databases: ${rootCauseMessage(err)}`);
  }
  if (found.databases.includes(database)) return { kind: 'present' };
  const listed = found.databases.filter((db) => !(found.templates ?? []).includes(db));
  return { kind: 'missing', message: `database "${database}" does not exist on ${found.server} (databases there: ${listedNames(listed)}); check the name, or create the database first` };
}
