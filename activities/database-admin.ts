/**
 * Database-level operations of a restore: existence checks, the staging database, the swap.
 * Every name is quoted as an identifier. Dropping is allowed only for staging names, so no bug
 * in the workflow can ever drop a live database.
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
    if (err instanceof ApplicationFailure) throw err;
    throw pgClientFailure(config, MAINTENANCE_DATABASE, err);
  }
}

export async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  return (await client.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
}

export function assertStagingName(config: Config, name: string): void {
  if (!STAGING_NAME.test(name)) {
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

async function endConnections(client: pg.Client, database: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { rows } = await client.query<{ n: string }>(
      `select count(pg_terminate_backend(pid)) as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
      [database],
    );
    if (Number(rows[0]!.n) === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Puts the staging database in place. In replace mode the two renames run in one transaction,
 * so there is no moment without a database called `target`. Safe to retry: a finished swap is
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
      await client.query(`alter database ${quoteIdent(req.staging)} rename to ${quoteIdent(req.target)}`);
      return { keptPrevious: null };
    }
    // Replace: keep new sessions out, end the current ones, then swap both names at once.
    await client.query(`alter database ${quoteIdent(req.target)} allow_connections false`);
    try {
      await endConnections(client, req.target);
      await client.query('begin');
      await client.query(`alter database ${quoteIdent(req.target)} rename to ${quoteIdent(req.kept)}`);
      await client.query(`alter database ${quoteIdent(req.staging)} rename to ${quoteIdent(req.target)}`);
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      await client.query(`alter database ${quoteIdent(req.target)} allow_connections true`).catch(() => undefined);
      throw err;
    }
    await client.query(`alter database ${quoteIdent(req.kept)} allow_connections true`);
    return { keptPrevious: req.kept };
  });
}
