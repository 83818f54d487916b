/** Short SQL sessions through node-postgres, for readiness checks and catalog queries. */
import pg from 'pg';
import type { Config } from '../../common/config.js';
import type { ServerInfo, TableEstimate } from '../../common/manifest.js';

/**
 * pgkeeper's own sessions (these, and the pg tools' through PGOPTIONS) run without the timeouts a
 * database or role may set, as pg_dump's own do: a `statement_timeout` on the database (which its
 * restored copy inherits) would cancel the exact row count of a large table, and an
 * `idle_in_transaction_session_timeout` the transaction whose snapshot the dump reads.
 */
export const SESSION_OPTIONS = '-c statement_timeout=0 -c lock_timeout=0 -c idle_in_transaction_session_timeout=0';

export async function withClient<T>(config: Config, database: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    host: config.db.host,
    port: config.db.port,
    user: config.db.user,
    password: config.db.password,
    database,
    application_name: 'pgkeeper',
    options: SESSION_OPTIONS,
    connectionTimeoutMillis: 10_000,
  });
  // Without a listener, an error after connect (server restart) would crash the worker.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    // A connect that failed on the client's side (no password to answer the server's challenge)
    // leaves the socket open: the server would keep a session waiting in authentication for a minute.
    await client.end().catch(() => undefined);
    throw err;
  }
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function readServerInfo(client: pg.Client): Promise<ServerInfo> {
  const { rows } = await client.query<{ version: string; num: string }>(
    "select current_setting('server_version') as version, current_setting('server_version_num') as num",
  );
  return { version: rows[0]!.version, versionNum: Number(rows[0]!.num) };
}

/**
 * The server with its system identifier, when it has one to give (PostgreSQL 9.6+) and DB_USER may
 * read it. `client` is in the dump's snapshot transaction: the read runs under a savepoint, so a
 * refusal costs only this bit of metadata, never the backup.
 */
export async function readServerIdentity(client: pg.Client): Promise<ServerInfo> {
  const server = await readServerInfo(client);
  if (server.versionNum < 90_600) return server;
  await client.query('savepoint pgkeeper_system_identifier');
  try {
    const { rows } = await client.query<{ id: string | null }>(
      `select case when has_function_privilege('pg_catalog.pg_control_system()', 'execute')
                   then (select system_identifier::text from pg_catalog.pg_control_system()) end as id`,
    );
    await client.query('release savepoint pgkeeper_system_identifier');
    return rows[0]!.id === null ? server : { ...server, systemIdentifier: rows[0]!.id };
  } catch {
    await client.query('rollback to savepoint pgkeeper_system_identifier');
    return server;
  }
}

/** The database's size on disk, indexes included. */
export async function readDatabaseSize(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ bytes: string }>('select pg_database_size(current_database()) as bytes');
  return Number(rows[0]!.bytes);
}

/** User tables with the planner's row estimate, to validate a restore against later. */
export async function readTableEstimates(client: pg.Client): Promise<TableEstimate[]> {
  const { rows } = await client.query<{ schema: string; name: string; estimate: string | null }>(`
    select n.nspname as schema, c.relname as name,
           -- reltuples is -1 until the table is first vacuumed or analyzed; n_live_tup then counts
           -- what the statistics have been told, 0 for rows not reported yet: unknown, not empty.
           case when c.reltuples >= 0 then c.reltuples::bigint
                when s.n_live_tup > 0 then s.n_live_tup end as estimate
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      left join pg_stat_user_tables s on s.relid = c.oid
     where c.relkind = 'r'
       and n.nspname not in ('pg_catalog', 'information_schema')
       and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
     order by 1, 2`);
  return rows.map((r) => ({ schema: r.schema, name: r.name, rowEstimate: r.estimate === null ? null : Number(r.estimate) }));
}
