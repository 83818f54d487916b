/**
 * The local system in one command: Temporal dev server (UI on, state in .data/temporal.db),
 * a pgkeeper worker, a demo database when none is named, one backup, and what to try next.
 * Ctrl-C stops the worker (gracefully) and the dev server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ConfigError, parseConfig, type Config } from '../common/config.js';
import { validateDatabaseName } from '../common/names.js';
import { devServerSearchAttributeArgs } from '../common/search-attributes.js';
import { rootCauseMessage } from '../client/cli-error.js';
import { printBackupResult, startBackup } from '../client/commands/backup.js';
import { showProgress } from '../client/progress.js';
import { connectClient, workflowUrl } from '../client/temporal.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEMO_DATABASE = 'pgkeeper_demo';
/** The compiled worker (up.sh builds it), with a small young generation: the whole process stays well under 200 MB. */
const WORKER_ARGS = ['--max-semi-space-size=1', 'dist/worker/main.js'];
const children: ChildProcess[] = [];

function say(line: string): void {
  process.stdout.write(`[up] ${line}\n`);
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1_000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

async function waitForPort(host: string, port: number, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(host, port))) {
    if (Date.now() > deadline) throw new Error(`${what} did not open ${host}:${port} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

function startChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
  children.push(child);
  child.once('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? `code ${code}`}); stopping`);
      void stop(1);
    }
  });
  return child;
}

async function startTemporal(config: Config): Promise<void> {
  const [host, portText] = config.temporal.address.split(':') as [string, string];
  const port = Number(portText);
  if (await portOpen(host, port)) {
    say(`Temporal already answers on ${config.temporal.address}; using it`);
    return;
  }
  mkdirSync(path.join(ROOT, '.data'), { recursive: true });
  const uiPort = Number(new URL(config.temporal.uiUrl).port || 8233);
  say(`starting Temporal dev server on ${config.temporal.address} (state in .data/temporal.db)`);
  startChild('Temporal dev server', process.env.TEMPORAL_CLI!, [
    'server', 'start-dev',
    '--ip', host, '--port', String(port), '--ui-port', String(uiPort),
    '--db-filename', path.join(ROOT, '.data', 'temporal.db'),
    '--namespace', config.temporal.namespace,
    '--log-level', 'warn',
    ...devServerSearchAttributeArgs(),
  ]);
  await waitForPort(host, port, 'Temporal dev server');
  await waitForPort(host, uiPort, 'Temporal UI');
}

/** A few tables with a foreign key, an index, text and jsonb: enough to see a real backup. */
async function ensureDemoDatabase(config: Config): Promise<void> {
  const connect = async (database: string) => {
    const client = new pg.Client({ host: config.db.host, port: config.db.port, user: config.db.user, password: config.db.password, database });
    await client.connect();
    return client;
  };
  const admin = await connect('postgres');
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [DEMO_DATABASE]);
    if (exists.rowCount) return;
    say(`creating demo database ${DEMO_DATABASE}`);
    await admin.query(`create database ${DEMO_DATABASE}`);
  } finally {
    await admin.end();
  }
  const demo = await connect(DEMO_DATABASE);
  try {
    await demo.query(`
      create table customers (id serial primary key, name text not null, email text unique);
      create table orders (id bigserial primary key, customer_id int not null references customers(id), items jsonb, placed_at timestamptz default now());
      create index orders_customer_idx on orders (customer_id);
      insert into customers (name, email) select 'customer ' || g, 'c' || g || '@example.com' from generate_series(1, 1000) g;
      insert into orders (customer_id, items) select 1 + g % 1000, jsonb_build_object('sku', g, 'qty', g % 5) from generate_series(1, 10000) g;
      analyze;`);
  } finally {
    await demo.end();
  }
}

let stopping = false;
async function stop(code: number): Promise<never> {
  stopping = true;
  say('stopping worker and Temporal dev server...');
  // Worker first, so it can finish or cancel its activities while the server is still there.
  for (const child of [...children].reverse()) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  process.exit(code);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = parseConfig(process.env, (p) => path.resolve(ROOT, p));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`npm run up: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  const database = validateDatabaseName(process.argv[2] ?? DEMO_DATABASE);
  await startTemporal(config);
  say('starting pgkeeper worker');
  const { BACKUP_DIR: _dir, ...env } = process.env;
  startChild('worker', process.execPath, WORKER_ARGS, { ...env, BACKUP_STORE: config.stores.primary.url });
  if (database === DEMO_DATABASE) await ensureDemoDatabase(config);

  const client = await connectClient(config);
  say(`backing up "${database}"`);
  const handle = await startBackup(client, config, { database });
  try {
    printBackupResult(await showProgress(handle, handle.result(), process.stdout));
  } catch (err) {
    say(`the first backup failed: ${rootCauseMessage(err)}`);
  }
  process.stdout.write(
    [
      '',
      `Temporal UI:   ${config.temporal.uiUrl}  (this backup: ${workflowUrl(config, handle.workflowId, handle.firstExecutionRunId)})`,
      `Backups:       ${config.stores.primary.url}`,
      'Try next (in another terminal):',
      `  bin/pgkeeper backups                    list complete backups`,
      `  bin/pgkeeper backup ${database} --wait   another backup, with progress`,
      `  bin/pgkeeper restore latest --database ${database} --target ${database}_copy --wait   a safe restore into a new database`,
      '  bin/pgkeeper status                     last backup, last proven restore, next run',
      `  in the UI: Workflows -> the run above -> its history, input and result`,
      'Ctrl-C stops the worker and the dev server (state is kept in .data/).',
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`npm run up: ${(err as Error).message}\n`);
  void stop(1);
});
