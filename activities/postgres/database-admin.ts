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
import { createDatabaseOptions, LocaleProviderError, propertyStatements, rolesOptional, type PropertyOptions } from '../../common/database-properties-sql.js';
import { FailureType } from '../../common/errors.js';
import type { DatabaseProperties } from '../../common/manifest.js';
import { isStagingName, STAGING_NAME } from '../../common/restore-input.js';
import { quoteIdent, quoteLiteral } from '../../common/sql.js';
import { failure, pgClientFailure } from '../failures.js';
import { withClient } from './pg-client.js';
import { markComment, markedAt, withOwnComment } from './staging-mark.js';

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

/** Which of `tablespaces` exist on the server, and which of those the connected user may create in. */
export async function existingTablespaces(client: pg.Client, tablespaces: string[]): Promise<{ present: Set<string>; creatable: Set<string> }> {
  const { rows } = await client.query<{ spcname: string; creatable: boolean }>(`select spcname, has_tablespace_privilege(oid, 'CREATE') as creatable from pg_tablespace where spcname = any($1)`, [tablespaces]);
  return { present: new Set(rows.map((r) => r.spcname)), creatable: new Set(rows.filter((r) => r.creatable).map((r) => r.spcname)) };
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
 * Holds a staging name for the rest of the client's session: DROP DATABASE finds a database by its
 * name, so a look at the oid and the drop that follows, or a drop and the create that follows, must
 * not interleave with another attempt's under the same name.
 */
async function holdStagingName(client: pg.Client, staging: string): Promise<void> {
  await client.query('select pg_advisory_lock(hashtextextended($1, 0))', [`pgkeeper staging ${staging}`]);
}

/**
 * Drops the staging database `oid` made, if it is still that one: an attempt Temporal gave up on
 * while it ran on must not drop the database its retry made under the same name.
 */
export async function dropOwnStaging(config: Config, staging: string, oid: number): Promise<void> {
  assertStagingName(config, staging);
  await withAdmin(config, async (client) => {
    await holdStagingName(client, staging);
    if ((await databaseOid(client, staging)) === oid) await client.query(`drop database if exists ${quoteIdent(staging)} with (force)`);
  });
}

/**
 * Drops the staging databases (and only those: the staging name pattern, and pgkeeper's mark) made
 * over `olderThanMs` ago, older than any restore or drill runs: what a run terminated from outside
 * left, since a terminate skips every clean-up. Their age is the one their mark gives (in whatever
 * tablespace they are, whatever DB_USER may read of the server's files). Returns the names dropped.
 */
export async function sweepStaleStaging(config: Config, olderThanMs: number): Promise<string[]> {
  return withAdmin(config, async (client) => {
    const found = await client.query<{ datname: string; comment: string | null }>(`select datname, shobj_description(oid, 'pg_database') as comment from pg_database where datname ~ $1`, [STAGING_NAME.source]);
    const stale = found.rows.filter((r) => isStagingName(r.datname) && (markedAt(r.comment) ?? Infinity) < Date.now() - olderThanMs).map((r) => r.datname);
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
    await holdStagingName(client, staging); // until the new one is made (the session's end lets it go)
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
    await client.query(`comment on database ${quoteIdent(staging)} is ${quoteLiteral(markComment(options.madeBy, Date.now()))}`);
    return { oid: (await databaseOid(client, staging))!, warnings };
  });
}

/** A database's comment. */
export async function databaseComment(client: pg.Client, name: string): Promise<string | null> {
  const { rows } = await client.query<{ comment: string | null }>(`select shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1`, [name]);
  return rows[0]?.comment ?? null;
}

/**
 * Owner, privileges, settings, per-role settings and comment of the source (the comment held under
 * the staging mark until the swap), on the staging database; returns warnings for the per-role
 * settings left out (roles optional, and missing).
 */
export async function applyDatabaseProperties(config: Config, staging: string, properties: DatabaseProperties, options: PropertyOptions): Promise<string[]> {
  assertStagingName(config, staging);
  return withAdmin(config, async (client) => {
    const wanted = properties.roleSettings.map((r) => r.role);
    const present = rolesOptional(options) ? await existingRoles(client, wanted) : new Set(wanted);
    const absent = properties.roleSettings.filter((r) => !present.has(r.role));
    const comment = withOwnComment(await databaseComment(client, staging), properties.comment);
    for (const statement of propertyStatements(staging, properties, { ...options, absentRoles: new Set(absent.map((r) => r.role)), comment })) await client.query(statement);
    return absent.map(
      ({ role, settings }) =>
        // Their names only: a value may be a secret (sealed in the manifest), and a warning is kept in history.
        `the source's settings for role "${role}" in the database (${settings.map((s) => s.split('=')[0]).join(', ')}) were left out: no such role on ${config.db.host}:${config.db.port}; create it and set them with ALTER ROLE … IN DATABASE … SET (the manifest holds their values), or restore a globals backup first`,
    );
  });
}
