/** Helpers that talk to the test run's own PostgreSQL as its superuser, whoever `config` connects as. */
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import type { Config } from '../../common/config.js';
import { quoteIdent } from '../../common/sql.js';
import { pgTool, pgToolEnv, testCluster } from './cluster.js';

export { quoteIdent };

/** An unconnected client for `database` on `config`'s server, as the suite's superuser. */
export function adminClient(config: Config, database: string): pg.Client {
  const { user, password } = testCluster();
  return new pg.Client({ host: config.db.host, port: config.db.port, user, password, database });
}

export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(
  config: Config,
  database: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = adminClient(config, database);
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export async function createDatabase(config: Config, name: string): Promise<void> {
  await sql(config, 'postgres', `create database ${quoteIdent(name)}`);
}

export async function dropDatabase(config: Config, name: string): Promise<void> {
  await sql(config, 'postgres', `drop database if exists ${quoteIdent(name)} with (force)`);
}

export async function databaseExists(config: Config, name: string): Promise<boolean> {
  return (await sql(config, 'postgres', 'select 1 from pg_database where datname = $1', [name])).length === 1;
}

/** Several tables, a foreign key, indexes, text and jsonb, a few thousand rows. */
export async function seedDatabase(config: Config, name: string): Promise<void> {
  await createDatabase(config, name);
  await sql(
    config,
    name,
    `create table customers (id serial primary key, name text not null, email text unique, created_at timestamptz not null default '2026-01-01');
     create table orders (id bigserial primary key, customer_id int not null references customers(id), total numeric(10,2), items jsonb);
     create index orders_customer_idx on orders (customer_id);
     create schema audit;
     create table audit.events (id int, body text);
     insert into customers (name, email) select 'customer ' || g, 'c' || g || '@example.com' from generate_series(1, 2000) g;
     insert into orders (customer_id, total, items)
       select 1 + (g % 2000), (g % 1000) / 10.0, jsonb_build_object('sku', g, 'qty', g % 7) from generate_series(1, 5000) g;
     insert into audit.events select g, repeat(md5(g::text), 4) from generate_series(1, 3000) g;
     analyze;`,
  );
}

/** Row count and an order-independent content hash of every user table. */
export async function tableFingerprints(config: Config, database: string): Promise<Record<string, string>> {
  const tables = await sql<{ t: string }>(
    config,
    database,
    `select format('%I.%I', schemaname, tablename) as t from pg_tables
      where schemaname not in ('pg_catalog', 'information_schema') order by 1`,
  );
  const result: Record<string, string> = {};
  for (const { t } of tables) {
    const [row] = await sql<{ n: string; h: string }>(
      config,
      database,
      `select count(*) as n, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h from ${t} x`,
    );
    result[t] = `${row!.n}:${row!.h}`;
  }
  return result;
}

export async function listDatabases(config: Config): Promise<string[]> {
  return (await sql<{ datname: string }>(config, 'postgres', 'select datname from pg_database order by 1')).map((r) => r.datname);
}

/** `pg_dump --schema-only`, without comments, settings and blank lines that differ between databases. */
export function normalizedSchema(config: Config, database: string): string {
  const out = execFileSync(pgTool('pg_dump'), ['--schema-only', '--no-owner', '-h', config.db.host, '-p', String(config.db.port), '-d', database], {
    encoding: 'utf8',
    env: pgToolEnv(),
  });
  return out
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^(--|SET |SELECT pg_catalog.set_config|\\(un)?restrict )/.test(line))
    .join('\n');
}

/**
 * Holds an ACCESS EXCLUSIVE lock on a table in an open transaction, so pg_dump (which needs ACCESS
 * SHARE) waits: a dump reliably "in progress" for as long as a test needs. `end()` releases it.
 */
export async function holdTableLock(config: Config, database: string, table = 'orders'): Promise<pg.Client> {
  const client = adminClient(config, database);
  client.on('error', () => undefined); // a test may restart the server under it
  await client.connect();
  await client.query(`begin; lock table ${quoteIdent(table)} in access exclusive mode`);
  return client;
}

/** ~3 M rows and an index: pg_restore runs for seconds, long enough to interrupt. */
export async function createBigDatabase(config: Config, name: string): Promise<void> {
  await createDatabase(config, name);
  await sql(
    config,
    name,
    `create table big as select g as id, md5(g::text) || md5((g * 7)::text) as body from generate_series(1, 3000000) g;
     create index big_body_idx on big (body); analyze big;`,
  );
}

/** A database's own properties, in a form two databases can be compared by (grants as sets, grantors left out). */
export async function databaseProperties(config: Config, database: string): Promise<Record<string, unknown>> {
  const [d] = await sql<Record<string, unknown>>(
    config,
    'postgres',
    `select pg_get_userbyid(datdba) as owner, pg_encoding_to_char(encoding) as encoding, datcollate, datctype, datlocprovider, daticulocale,
            datconnlimit, shobj_description(oid, 'pg_database') as comment, (select spcname from pg_tablespace t where t.oid = dattablespace) as tablespace,
            (select coalesce(array_agg(g order by g), '{}') from (
               select case when a.grantee = 0 then 'PUBLIC' else pg_get_userbyid(a.grantee) end || ':' || a.privilege_type || ':' || a.is_grantable as g
                 from aclexplode(coalesce(datacl, acldefault('d', datdba))) a) x) as grants
       from pg_database where datname = $1`,
    [database],
  );
  const settings = await sql<{ role: string | null; setconfig: string[] }>(
    config,
    'postgres',
    `select case when s.setrole = 0 then null else pg_get_userbyid(s.setrole) end as role, s.setconfig
       from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase where d.datname = $1 order by 1 nulls first`,
    [database],
  );
  return { ...d, settings: settings.map((s) => `${s.role ?? '(database)'}: ${s.setconfig.join('; ')}`) };
}
