/**
 * Database-level operations: existence, the staging database, renames and drops. Every name is
 * quoted as an identifier. Dropping is allowed only for names of the staging pattern
 * (`<target>_restoring_<8 hex>`, `pgkeeper_drill_<8 hex>`), so a bug in a workflow cannot drop a
 * database under any other name; and a database left behind is swept only when it also carries
 * pgkeeper's mark, since someone may call a database of their own `orders_restoring_20250101`.
 */
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import type { Config } from '../../common/config.js';
import { createDatabaseOptions, LocaleProviderError, propertyStatements, quoteLiteral, rolesOptional, type PropertyOptions } from '../../common/database-properties-sql.js';
import { FailureType } from '../../common/errors.js';
import type { DatabaseProperties } from '../../common/manifest.js';
import { isStagingName, STAGING_NAME } from '../../common/restore-input.js';
import { quoteIdent } from '../../common/sql.js';
import { failure, pgClientFailure } from '../failures.js';
import { withClient } from './pg-client.js';

/**
 * The comment a staging or drill database carries while it is pgkeeper's work in progress: what a
 * database left behind is told apart by from one of the same name made by someone else. The
 * source's own comment (or none) replaces it once the restore into it is done.
 */
export const STAGING_MARK = 'pgkeeper: work in progress of a restore or drill';

/** The database pgkeeper connects to for CREATE/ALTER/DROP DATABASE. */
export const MAINTENANCE_DATABASE = 'postgres';

export async function withAdmin<T>(config: Config, use: (client: pg.Client) => Promise<T>): Promise<T> {
  try {
    return await withClient(config, MAINTENANCE_DATABASE, use);
  } catch (err) {
    throw pgClientFailure(config, MAINTENANCE_DATABASE, err);
  }
}

export async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  return (await databaseOid(client, name)) !== null;
}

/** Which of `roles` exist on the server. */
export async function existingRoles(client: pg.Client, roles: string[]): Promise<Set<string>> {
  const { rows } = await client.query<{ rolname: string }>('select rolname from pg_roles where rolname = any($1)', [roles]);
  return new Set(rows.map((r) => r.rolname));
}

/** Which of `tablespaces` exist on the server. */
export async function existingTablespaces(client: pg.Client, tablespaces: string[]): Promise<Set<string>> {
  const { rows } = await client.query<{ spcname: string }>('select spcname from pg_tablespace where spcname = any($1)', [tablespaces]);
  return new Set(rows.map((r) => r.spcname));
}

export async function databaseOid(client: pg.Client, name: string): Promise<number | null> {
  const { rows } = await client.query<{ oid: string }>('select oid from pg_database where datname = $1', [name]);
  return rows[0] ? Number(rows[0].oid) : null;
}

export function assertStagingName(config: Config, name: string): void {
  if (!isStagingName(name)) {
    throw failure(config, FailureType.InvalidInput, `refusing to drop or recreate "${name}": it is not a pgkeeper staging database name`);
  }
}

export async function dropStaging(config: Config, staging: string): Promise<void> {
  assertStagingName(config, staging);
  await withAdmin(config, async (client) => {
    await client.query(`drop database if exists ${quoteIdent(staging)} with (force)`);
  });
}

/**
 * Drops the staging databases (and only those: the staging name pattern, and pgkeeper's mark) created over
 * `olderThanMs` ago, older than any restore or drill runs: what a run terminated from outside
 * left, since a terminate skips every clean-up. Their age is that of their directory's PG_VERSION;
 * a server that does not let DB_USER read it (pg_stat_file, for superusers and
 * pg_read_server_files) keeps them. Returns the names dropped.
 */
export async function sweepStaleStaging(config: Config, olderThanMs: number): Promise<string[]> {
  return withAdmin(config, async (client) => {
    const found = await client
      .query<{ datname: string }>(
        `select d.datname from pg_database d, pg_stat_file('base/' || d.oid || '/PG_VERSION', true) f
          where d.datname ~ $2 and f.modification < now() - make_interval(secs => $1)
            and left(shobj_description(d.oid, 'pg_database'), length($3)) = $3`,
        [olderThanMs / 1000, STAGING_NAME.source, STAGING_MARK],
      )
      .catch(() => ({ rows: [] }));
    const stale = found.rows.map((r) => r.datname).filter(isStagingName);
    for (const name of stale) await client.query(`drop database if exists ${quoteIdent(name)} with (force)`);
    return stale;
  });
}

/** SQLSTATEs of a CREATE DATABASE the server cannot honour: a locale it lacks, an encoding that does not fit it, no ICU. */
const LOCALE_REFUSED = new Set(['22023', '0A000', '42809', '22P05']);

function describeLocale(p: DatabaseProperties): string {
  const icu = p.localeProvider && p.localeProvider !== 'libc' ? `, ${p.localeProvider} locale "${p.icuLocale ?? ''}"` : '';
  return `encoding ${p.encoding}, LC_COLLATE "${p.collate}", LC_CTYPE "${p.ctype}"${icu}`;
}

export interface StagingOptions {
  noTablespaces: boolean;
  /** The workflow whose work in progress it is (in its mark). */
  madeBy: string;
  /** Without properties (an archive without manifest): the encoding its schema script declares. */
  archiveEncoding?: string;
}

/**
 * A fresh, empty staging database (a retry starts from scratch) with the source's encoding, locale
 * and tablespace when known, marked as `madeBy`'s work in progress. Returns its OID (the swap
 * recognises a finished swap by it), and a warning when an archive without properties is restored
 * with an encoding other than the server's default.
 */
export async function recreateStaging(config: Config, staging: string, properties: DatabaseProperties | null, options: StagingOptions): Promise<{ oid: number; warnings: string[] }> {
  assertStagingName(config, staging);
  return withAdmin(config, async (client) => {
    const { rows } = await client.query<{ num: string; encoding: string }>(
      `select current_setting('server_version_num') as num, (select pg_encoding_to_char(encoding) from pg_database where datname = 'template0') as encoding`,
    );
    const versionNum = Number(rows[0]!.num);
    await client.query(`drop database if exists ${quoteIdent(staging)} with (force)`);
    let createOptions = 'template template0';
    const warnings: string[] = [];
    const encoding = options.archiveEncoding;
    if (!properties && encoding !== undefined && encoding !== rows[0]!.encoding) {
      // Data of one encoding in a database of another is converted, or (from SQL_ASCII) taken as
      // it is, invalid: the archive's own, then, with the C locale, which suits every encoding.
      createOptions = `template template0 encoding ${quoteLiteral(encoding)} lc_collate 'C' lc_ctype 'C'${versionNum >= 150000 ? ` locale_provider 'libc'` : ''}`;
      warnings.push(`the archive records no locale (no manifest): restored with its encoding ${encoding} (the server's default is ${rows[0]!.encoding}) and the C locale`);
    }
    if (properties) {
      try {
        createOptions = createDatabaseOptions(properties, versionNum, options);
      } catch (err) {
        if (err instanceof LocaleProviderError) throw failure(config, FailureType.LocaleUnavailable, `${err.message}; restore on PostgreSQL 15 or newer`);
        throw err;
      }
    }
    try {
      await client.query(`create database ${quoteIdent(staging)} ${createOptions}`);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (properties && LOCALE_REFUSED.has(e.code ?? '')) {
        throw failure(
          config,
          FailureType.LocaleUnavailable,
          `${config.db.host}:${config.db.port} cannot create a database like the backup's (${describeLocale(properties)}): ${e.message}. ` +
            'Install that locale on the server (e.g. locale-gen), or restore on a server that has it',
        );
      }
      throw err;
    }
    const mark = `${STAGING_MARK} (workflow ${options.madeBy}); dropped when the run ends, or by a later one once two days old`;
    await client.query(`comment on database ${quoteIdent(staging)} is ${quoteLiteral(mark)}`);
    return { oid: (await databaseOid(client, staging))!, warnings };
  });
}

/** A staging database restored from an archive without properties: its mark removed, as the source's comment would replace it. */
export async function unmarkStaging(config: Config, staging: string): Promise<string[]> {
  assertStagingName(config, staging);
  await withAdmin(config, (client) => client.query(`comment on database ${quoteIdent(staging)} is null`));
  return [];
}

/**
 * Owner, privileges, settings, per-role settings and comment of the source (replacing the staging
 * mark), on the staging database; returns warnings for the per-role settings left out (roles
 * optional, and missing).
 */
export async function applyDatabaseProperties(config: Config, staging: string, properties: DatabaseProperties, options: PropertyOptions): Promise<string[]> {
  assertStagingName(config, staging);
  return withAdmin(config, async (client) => {
    const wanted = properties.roleSettings.map((r) => r.role);
    const present = rolesOptional(options) ? await existingRoles(client, wanted) : new Set(wanted);
    const absent = properties.roleSettings.filter((r) => !present.has(r.role));
    for (const statement of propertyStatements(staging, properties, { ...options, absentRoles: new Set(absent.map((r) => r.role)) })) await client.query(statement);
    return absent.map(
      ({ role, settings }) =>
        // Their names only: a value may be a secret (sealed in the manifest), and a warning is kept in history.
        `the source's settings for role "${role}" in the database (${settings.map((s) => s.split('=')[0]).join(', ')}) were left out: no such role on ${config.db.host}:${config.db.port}; create it and set them with ALTER ROLE … IN DATABASE … SET (the manifest holds their values), or restore a globals backup first`,
    );
  });
}
