/**
 * Database-level operations of a restore: existence checks, the staging database, the swap.
 * Every name is quoted as an identifier. Dropping is allowed only for names of the staging
 * pattern (`<target>_restoring_<8 hex>`, `pgkeeper_drill_<8 hex>`), so a bug in a workflow cannot
 * drop a database under any other name.
 */
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

export async function dropStagingDatabase(config: Config, req: { staging: string }): Promise<boolean> {
  assertStagingName(config, req.staging);
  return withAdmin(config, async (client) => {
    const existed = await databaseExists(client, req.staging);
    await client.query(`drop database if exists ${quoteIdent(req.staging)} with (force)`);
    return existed;
  });
}

/** A fresh, empty staging database (a retry starts from scratch). */
export async function recreateStagingDatabase(config: Config, staging: string): Promise<void> {
  assertStagingName(config, staging);
  await withAdmin(config, async (client) => {
    await client.query(`drop database if exists ${quoteIdent(staging)} with (force)`);
    await client.query(`create database ${quoteIdent(staging)} template template0`);
  });
}

export interface SwapRequest {
  staging: string;
  target: string;
  mode: 'create' | 'replace';
  kept: string;
}

/** Ends every other session on `database`; returns how many there were. */
async function endConnections(client: pg.Client, database: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `select count(pg_terminate_backend(pid)) as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
    [database],
  );
  return Number(rows[0]!.n);
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
      if ((err as { code?: string }).code !== OBJECT_IN_USE || attempt >= SWAP_ATTEMPTS) throw err;
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
      if (target) return { keptPrevious: kept ? req.kept : null }; // an earlier attempt swapped
      throw failure(config, FailureType.RestoreFailed, `staging database "${req.staging}" disappeared before the swap; run the restore again`);
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
