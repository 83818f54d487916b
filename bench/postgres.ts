/**
 * The benchmark's own access to PostgreSQL: an environment for the bare tools (the same binaries
 * the worker picks: PG_BIN_DIR, else /usr/lib/postgresql/<server major>/bin, else PATH) and a few
 * admin statements (dropping the restore targets between runs).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../common/config.js';

export interface PgTools {
  /** PATH, HOME, LANG and PGHOST/PGPORT/PGUSER(/PGPASSWORD): what a shell script would have. */
  env: Record<string, string>;
  /** The directory of pg_dump and friends ('' for PATH). */
  binDir: string;
  serverVersion: string;
}

export async function withAdmin<T>(config: Config, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: config.db.host, port: config.db.port, user: config.db.user, password: config.db.password, database: 'postgres' });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

export async function pgTools(config: Config): Promise<PgTools> {
  const { version, num } = await withAdmin(config, async (c) => {
    const { rows } = await c.query<{ version: string; num: string }>(`select current_setting('server_version') as version, current_setting('server_version_num') as num`);
    return rows[0]!;
  });
  const debian = `/usr/lib/postgresql/${Math.floor(Number(num) / 10_000)}/bin`;
  const binDir = config.pgBinDir ?? (existsSync(path.join(debian, 'pg_dump')) ? debian : '');
  const env: Record<string, string> = {
    PATH: (binDir ? `${binDir}:` : '') + (process.env.PATH ?? '/usr/bin:/bin'),
    HOME: process.env.HOME ?? '/tmp',
    LANG: process.env.LANG ?? 'C.UTF-8',
    PGHOST: config.db.host,
    PGPORT: String(config.db.port),
    PGUSER: config.db.user,
  };
  if (config.db.password !== undefined) env.PGPASSWORD = config.db.password;
  return { env, binDir, serverVersion: version };
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

export async function dropDatabases(config: Config, names: string[]): Promise<void> {
  await withAdmin(config, async (c) => {
    for (const name of names) await c.query(`drop database if exists ${quote(name)} with (force)`);
  });
}

/** Every database whose name starts with `prefix` (restore targets and staging copies a failed run left). */
export async function databasesStartingWith(config: Config, prefix: string): Promise<string[]> {
  return withAdmin(config, async (c) => {
    const { rows } = await c.query<{ datname: string }>(`select datname from pg_database where starts_with(datname, $1)`, [prefix]);
    return rows.map((r) => r.datname);
  });
}
