/**
 * waitForDatabase: connect and read the server version until the server answers or the deadline
 * passes. Authentication failures and a missing database are final at once: waiting cannot fix them.
 * Also refuses a pg_dump older than the server, before any work is done.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import type { ServerInfo } from '../common/manifest.js';
import { databaseMissing, failure, pgClientFailure } from './failures.js';
import { meantFor, sameLetters, serverDatabases } from './postgres/database-names.js';
import { readServerInfo, withClient } from './postgres/pg-client.js';
import { pgToolVersion } from './postgres/pg-tools.js';

export interface WaitRequest {
  database: string;
  /** Epoch ms after which waiting stops; computed by the workflow so retries keep the same deadline. */
  deadlineMs: number;
}

const RETRY_EVERY_MS = 1_000;
const LOG_EVERY_MS = 30_000;

function majorVersion(versionText: string): number | undefined {
  const m = /(\d+)(?:\.\d+)?/.exec(versionText);
  return m ? Number(m[1]) : undefined;
}

async function assertPgDumpNotOlder(config: Config, server: ServerInfo): Promise<void> {
  const toolVersion = await pgToolVersion(config, 'pg_dump');
  const toolMajor = majorVersion(toolVersion.replace(/^\D*\(PostgreSQL\)\s*/, ''));
  const serverMajor = Math.floor(server.versionNum / 10_000);
  if (toolMajor !== undefined && toolMajor < serverMajor) {
    throw failure(
      config,
      FailureType.PgToolTooOld,
      `pg_dump ${toolMajor} ("${toolVersion}") is older than the server (PostgreSQL ${server.version}); ` +
        `pg_dump refuses to dump a newer server: install the PostgreSQL ${serverMajor} client tools or set PG_BIN_DIR to them`,
    );
  }
}

/** A database that does not exist: a typo is likelier than a database dropped, so the one meant is named when the server has one near. */
async function missingWithMeant(config: Config, database: string, missing: ApplicationFailure): Promise<ApplicationFailure> {
  const names = await serverDatabases(config).catch(() => []); // no right to list them: the plain message
  const meant = meantFor(database, names);
  return meant === undefined ? missing : databaseMissing(config, database, `"${meant}"${sameLetters(database, meant)}`);
}

export async function waitForDatabase(config: Config, req: WaitRequest): Promise<ServerInfo> {
  const ctx = Context.current();
  const startedMs = Date.now();
  let attempt = 0;
  let loggedMs = -Infinity;
  for (;;) {
    attempt += 1;
    let lastError: ApplicationFailure;
    try {
      const server = await withClient(config, req.database, readServerInfo);
      await assertPgDumpNotOlder(config, server);
      return server;
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      lastError = pgClientFailure(config, req.database, err);
      if (lastError.type === FailureType.DatabaseMissing) throw await missingWithMeant(config, req.database, lastError);
      if (lastError.nonRetryable) throw lastError;
    }
    ctx.heartbeat({ attempt, lastError: lastError.message });
    // In the worker's log too, at first and then every half minute: a wait that may last minutes says why.
    if (Date.now() - loggedMs >= LOG_EVERY_MS) {
      loggedMs = Date.now();
      ctx.log.warn(`waiting for PostgreSQL at ${config.db.host}:${config.db.port} (attempt ${attempt}): ${lastError.message}`);
    }
    if (Date.now() + RETRY_EVERY_MS > req.deadlineMs) {
      const waited = Math.round((Date.now() - startedMs) / 1000);
      throw failure(
        config,
        FailureType.DatabaseUnreachable,
        `PostgreSQL at ${config.db.host}:${config.db.port} did not accept connections to "${req.database}" within ` +
          // A wait cut short by a worker or Temporal outage started again: the run's deadline counts both.
          `${waited} s (${attempt} attempts${ctx.info.attempt > 1 ? `, in attempt ${ctx.info.attempt} of the wait, which ends at the run's deadline` : ''}); last error: ${lastError.message}. Check that the server is running and DB_HOST/DB_PORT are right`,
      );
    }
    await ctx.sleep(RETRY_EVERY_MS); // rejects when the activity is cancelled
  }
}
