/**
 * Database-level operations of a restore: existence checks, the staging database, the swap.
 * Every name is quoted as an identifier. Dropping is allowed only for names of the staging
 * pattern (`<target>_restoring_<8 hex>`, `pgkeeper_drill_<8 hex>`), so a bug in a workflow cannot
 * drop a database under any other name.
 */
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { quoteIdent } from '../common/sql.js';
import { failure, pgClientFailure } from './failures.js';
import { withClient } from './pg-client.js';

/** The database pgkeeper connects to for CREATE/ALTER/DROP DATABASE. */
export const MAINTENANCE_DATABASE = 'postgres';

/** Staging databases of restores, and scratch databases of restore drills: the only ones pgkeeper may drop. */
const STAGING_NAME = /(_restoring_|^pgkeeper_drill_)[0-9a-f]{8}$/;

export async function withAdmin<T>(config: Config, use: (client: pg.Client) => Promise<T>): Promise<T> {
  try {
    return await withClient(config, MAINTENANCE_DATABASE, use);
  } catch (err) {
    throw pgClientFailure(config, MAINTENANCE_DATABASE, err);
  }
}

export async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  return (await client.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
}

export function isStagingName(name: string): boolean {
  return STAGING_NAME.test(name);
}

export function assertStagingName(config: Config, name: string): void {
  if (!isStagingName(name)) {
    throw failure(config, FailureType.InvalidInput, `refusing to drop or recreate "${name}": it is not a pgkeeper staging database name`);
  }
}

export async function dropStagingDatabase(config: Config, req: { staging: string }): Promise<void> {
  assertStagingName(config, req.staging);
  await withAdmin(config, async (client) => {
    await client.query(`drop database if exists ${quoteIdent(req.staging)} with (force)`);
  });
}

/** What a staging database is labelled with; after the swap the label names the restored database's origin. */
function stagingLabel(staging: string): string {
  return `restored by pgkeeper through ${staging}`;
}

/** A fresh, empty staging database (a retry starts from scratch), labelled so the swap can recognise it. */
export async function recreateStagingDatabase(config: Config, staging: string): Promise<void> {
  assertStagingName(config, staging);
  await withAdmin(config, async (client) => {
    await client.query(`drop database if exists ${quoteIdent(staging)} with (force)`);
    await client.query(`create database ${quoteIdent(staging)} template template0`);
    await client.query(`comment on database ${quoteIdent(staging)} is ${literal(stagingLabel(staging))}`);
  });
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

async function databaseLabel(client: pg.Client, name: string): Promise<string | null> {
  const { rows } = await client.query<{ label: string | null }>(
    `select shobj_description(oid, 'pg_database') as label from pg_database where datname = $1`,
    [name],
  );
  return rows[0]?.label ?? null;
}

export interface SwapRequest {
  staging: string;
  target: string;
  mode: 'create' | 'replace';
  kept: string;
}

/** Ends every other session on `database`, waiting up to 5 s for each to be gone. */
async function endConnections(client: pg.Client, database: string): Promise<void> {
  await client.query(`select pg_terminate_backend(pid, 5000) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [database]);
}

/** Who keeps reconnecting, for the message when the swap cannot get the database to itself. */
async function sessionsOn(client: pg.Client, database: string): Promise<string> {
  const { rows } = await client.query<{ who: string }>(
    `select coalesce(nullif(application_name, ''), 'unnamed client') || ' from ' || coalesce(client_addr::text, 'local socket') as who
       from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
    [database],
  );
  return rows.map((r) => r.who).join(', ') || 'sessions that reconnect at once';
}

/** SQLSTATE 55006: "database is being accessed by other users". */
const OBJECT_IN_USE = '55006';
const SWAP_ATTEMPTS = 20;

/**
 * Renames in one transaction, after ending the sessions on both databases. A client that
 * reconnects in between makes the rename fail; then it is simply tried again. No database setting
 * is changed on the way, so a worker dying here leaves nothing to undo.
 */
async function renameExclusively(client: pg.Client, renames: [from: string, to: string][]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    for (const [from] of renames) await endConnections(client, from);
    try {
      await client.query('begin');
      for (const [from, to] of renames) await client.query(`alter database ${quoteIdent(from)} rename to ${quoteIdent(to)}`);
      await client.query('commit');
      return;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      if ((err as { code?: string }).code !== OBJECT_IN_USE) throw err;
      if (attempt >= SWAP_ATTEMPTS) {
        const busy = renames.map(([from]) => from);
        const who = (await Promise.all(busy.map((db) => sessionsOn(client, db)))).join('; ');
        // Retried by Temporal for a while (see the swap's retry policy); the staging copy waits.
        throw ApplicationFailure.retryable(
          `cannot swap: "${busy.join('", "')}" keep${busy.length === 1 ? 's' : ''} being used by ${who}; stop those clients (the restore keeps trying)`,
          FailureType.DatabaseError,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * Puts the staging database in place. In replace mode both renames run in one transaction, so
 * there is no moment without a database called `target`. Safe to retry: a finished swap is
 * recognised and left alone.
 */
export async function swapIntoPlace(config: Config, req: SwapRequest): Promise<{ keptPrevious: string | null }> {
  assertStagingName(config, req.staging);
  return withAdmin(config, async (client) => {
    const [staging, target, kept] = await Promise.all([
      databaseExists(client, req.staging),
      databaseExists(client, req.target),
      databaseExists(client, req.kept),
    ]);
    if (!staging) {
      // An earlier attempt swapped if the target now carries this staging database's label.
      if (target && (await databaseLabel(client, req.target)) === stagingLabel(req.staging)) return { keptPrevious: kept ? req.kept : null };
      throw failure(config, FailureType.RestoreFailed, `staging database "${req.staging}" disappeared before the swap; nothing was swapped. Run the restore again`);
    }
    if (target && req.mode === 'create') {
      throw failure(
        config,
        FailureType.TargetExists,
        `database "${req.target}" appeared during the restore; it was left untouched. Restore into another target, or use mode "replace" with confirm`,
      );
    }
    if (!target) {
      await renameExclusively(client, [[req.staging, req.target]]);
      return { keptPrevious: null };
    }
    await renameExclusively(client, [
      [req.target, req.kept],
      [req.staging, req.target],
    ]);
    return { keptPrevious: req.kept };
  });
}
