/**
 * The benchmark database: customers, orders (foreign key) and events with text and jsonb and a GIN
 * index. On PostgreSQL 15: 914 MB at scale 1, 106 MB at 0.1, about 580 MB at 0.63 (the benchmark's
 * default, the size the issues' numbers come from). Rebuilt only when missing or built at another scale.
 */
import pg from 'pg';
import type { Config } from '../common/config.js';

export const BENCH_DATABASE = 'pgkeeper_bench';

async function connect(config: Config, database: string): Promise<pg.Client> {
  const client = new pg.Client({ host: config.db.host, port: config.db.port, user: config.db.user, password: config.db.password, database });
  await client.connect();
  return client;
}

export async function ensureBenchDatabase(config: Config, scale: number, log: (line: string) => void): Promise<number> {
  const marker = `pgkeeper bench v2 scale=${scale}`;
  const admin = await connect(config, 'postgres');
  try {
    const { rows } = await admin.query<{ comment: string | null }>(
      `select shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1`,
      [BENCH_DATABASE],
    );
    if (rows[0]?.comment === marker) {
      log(`reusing ${BENCH_DATABASE} (${marker})`);
      return await size(admin);
    }
    log(`building ${BENCH_DATABASE} at scale ${scale} (a few minutes at the default scale)...`);
    await admin.query(`drop database if exists ${BENCH_DATABASE} with (force)`);
    await admin.query(`create database ${BENCH_DATABASE}`);
  } finally {
    await admin.end();
  }
  const n = (base: number) => Math.max(1, Math.round(base * scale));
  const db = await connect(config, BENCH_DATABASE);
  try {
    await db.query(`
      create table customers (id int primary key, name text not null, email text not null, profile jsonb not null);
      create table orders (id bigint primary key, customer_id int not null references customers(id), placed_at timestamptz not null, items jsonb not null, note text);
      create table events (id bigint primary key, order_id bigint not null, kind text not null, payload jsonb not null, body text not null);`);
    await db.query(`insert into customers
      select g, 'customer ' || g, 'c' || g || '@example.com',
             jsonb_build_object('tier', g % 5, 'tags', jsonb_build_array('t' || g % 17, 't' || g % 31), 'since', 2000 + g % 25)
        from generate_series(1, ${n(200_000)}) g`);
    await db.query(`insert into orders
      select g, 1 + g % ${n(200_000)}, timestamptz '2020-01-01' + (g % 100000) * interval '17 minutes',
             jsonb_build_array(jsonb_build_object('sku', 'sku-' || g % 5000, 'qty', 1 + g % 7, 'price', (g % 10000) / 100.0)),
             case when g % 3 = 0 then 'note ' || md5(g::text) end
        from generate_series(1, ${n(1_000_000)}) g`);
    await db.query(`insert into events
      select g, 1 + g % ${n(1_000_000)}, (array['created','paid','shipped','returned'])[1 + g % 4],
             jsonb_build_object('ip', '10.' || g % 256 || '.' || g % 199 || '.' || g % 97, 'agent', 'agent-' || g % 40,
                                'path', '/api/v1/orders/' || g, 'ms', g % 900, 'trace', md5(g::text)),
             md5(g::text) || md5((g * 7)::text) || ' ' || md5((g * 13)::text) || md5((g * 17)::text) || ' ' || md5((g * 31)::text)
        from generate_series(1, ${n(1_300_000)}) g`);
    await db.query(`create index events_payload_gin on events using gin (payload jsonb_path_ops);
                    create index orders_customer_idx on orders (customer_id);
                    alter table events add constraint events_order_fk foreign key (order_id) references orders(id);
                    analyze;`);
    await db.query(`comment on database ${BENCH_DATABASE} is '${marker}'`);
    return await size(db);
  } finally {
    await db.end();
  }
}

async function size(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ bytes: string }>('select pg_database_size($1) as bytes', [BENCH_DATABASE]);
  return Number(rows[0]!.bytes);
}
