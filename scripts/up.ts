/**
 * The local system in one command: Temporal dev server (UI on, state in .data/temporal.db), a
 * pgkeeper worker, a demo database when none is named, one backup, and what to try next.
 *   npm run up [-- <database>] [-- --s3]
 * `--s3` also starts the cached S3 test server (versitygw, data in .data/s3) and backs up there,
 * with a verified copy on disk (.data/backups). TEMPORAL_PORT / TEMPORAL_UI_PORT move the dev
 * server when 7233/8233 are taken. Ctrl-C stops the worker first (it finishes or cancels its
 * work), then the servers, and ends with one "stopped" line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { ConfigError, parseConfig, UP_PORT_VARIABLES, type Config } from '../common/config.js';
import { validateDatabaseName } from '../common/names.js';
import { devServerSearchAttributeArgs } from '../common/search-attributes.js';
import { rootCauseMessage } from '../common/failure-message.js';
import { printBackupResult, startBackup } from '../client/commands/backup.js';
import { showProgress } from '../client/progress.js';
import { connectClient, workflowUrl } from '../client/temporal.js';
import { requireWorker } from '../client/worker-workflow.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where the dev server's state, the local store and the S3 server's data live (UP_DATA_DIR moves them, e.g. for tests). */
const DATA = path.resolve(ROOT, process.env.UP_DATA_DIR ?? '.data');
const DEMO_DATABASE = 'pgkeeper_demo';
/** The compiled worker as deployed (up.sh builds it; bin/pgkeeper-worker sets its memory settings). */
const WORKER = path.join(ROOT, 'bin', 'pgkeeper-worker');
const S3_BUCKET = 'pgkeeper';
const children: { name: string; child: ChildProcess }[] = [];

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

/**
 * Children run in their own process group: Ctrl-C reaches only this script, which then stops
 * them in order (the worker before the servers it talks to).
 */
function startChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  children.push({ name, child });
  child.once('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? `code ${code}`}); stopping`);
      void stop(1);
    }
  });
  return child;
}

/** TEMPORAL_PORT / TEMPORAL_UI_PORT: where this script's dev server listens (and so TEMPORAL_ADDRESS / TEMPORAL_UI_URL). */
function temporalEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of UP_PORT_VARIABLES) {
    const value = env[name];
    if (value !== undefined && !/^\d{1,5}$/.test(value)) throw new ConfigError(`invalid configuration: ${name} must be a port number (e.g. 7243); got ${JSON.stringify(value)}`);
  }
  if (env.TEMPORAL_PORT) env.TEMPORAL_ADDRESS = `127.0.0.1:${env.TEMPORAL_PORT}`;
  if (env.TEMPORAL_UI_PORT) env.TEMPORAL_UI_URL = `http://127.0.0.1:${env.TEMPORAL_UI_PORT}`;
  return env;
}

async function startTemporal(config: Config): Promise<void> {
  const [host, portText] = config.temporal.address.split(':') as [string, string];
  const port = Number(portText);
  const uiPort = Number(new URL(config.temporal.uiUrl).port || 8233);
  if (await portOpen(host, port)) {
    const isTemporal = await connectClient(config).then(
      async (client) => (await client.workflowService.getSystemInfo({}), true),
      () => false,
    );
    const move = 'to run pgkeeper\'s own dev server instead, pick free ports: TEMPORAL_PORT=7243 TEMPORAL_UI_PORT=8243 npm run up';
    if (!isTemporal) throw new Error(`something that is not a Temporal server answers on ${config.temporal.address}; stop it, or ${move}`);
    say(`a Temporal server already answers on ${config.temporal.address}: using it (not starting one; its UI may not be ${config.temporal.uiUrl}).`);
    say(move);
    return;
  }
  if (await portOpen(host, uiPort)) throw new Error(`port ${uiPort} (the Temporal UI) is taken; set TEMPORAL_UI_PORT to a free port`);
  mkdirSync(DATA, { recursive: true });
  say(`starting Temporal dev server on ${config.temporal.address}, UI on ${config.temporal.uiUrl} (state in ${path.relative(ROOT, DATA)}/temporal.db)`);
  startChild('Temporal dev server', process.env.TEMPORAL_CLI!, [
    'server', 'start-dev',
    '--ip', host, '--port', String(port), '--ui-port', String(uiPort),
    '--db-filename', path.join(DATA, 'temporal.db'),
    '--namespace', config.temporal.namespace,
    // Errors only: at warn, a Ctrl-C ends the session with the dev server's own "network dial
    // error" lines from its shutdown, just above pgkeeper's "stopped".
    '--log-level', 'error',
    ...devServerSearchAttributeArgs(),
  ]);
  await waitForPort(host, port, 'Temporal dev server');
  await waitForPort(host, uiPort, 'Temporal UI');
}

/**
 * `--s3`: the cached versitygw (scripts/versitygw.sh) on S3_PORT (default 7070), data in .data/s3,
 * credentials generated once into .data/s3/credentials.json. Returns the worker's store settings:
 * the bucket as primary store, .data/backups as a verified copy.
 */
async function startS3(config: Config): Promise<NodeJS.ProcessEnv> {
  const port = Number(process.env.S3_PORT ?? 7070);
  const endpoint = `http://127.0.0.1:${port}`;
  const dir = path.join(DATA, 's3');
  const credentialsFile = path.join(DATA, 's3-credentials.json');
  mkdirSync(dir, { recursive: true });
  if (!existsSync(credentialsFile)) {
    writeFileSync(credentialsFile, JSON.stringify({ accessKeyId: randomBytes(10).toString('hex'), secretAccessKey: randomBytes(20).toString('hex') }), { mode: 0o600 });
  }
  const credentials = JSON.parse(readFileSync(credentialsFile, 'utf8')) as { accessKeyId: string; secretAccessKey: string };
  if (await portOpen('127.0.0.1', port)) throw new Error(`port ${port} (for the S3 server) is taken; set S3_PORT to a free port`);
  say(`starting S3 server (versitygw) on ${endpoint} (data in ${path.relative(ROOT, dir)})`);
  startChild('S3 server', process.env.VERSITYGW!, ['--port', `127.0.0.1:${port}`, '--region', 'us-east-1', '--quiet', 'posix', dir], {
    ...process.env,
    ROOT_ACCESS_KEY_ID: credentials.accessKeyId,
    ROOT_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  });
  await waitForPort('127.0.0.1', port, 'S3 server');
  const client = new S3Client({ endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
  await client.send(new CreateBucketCommand({ Bucket: S3_BUCKET })).catch((err: { name?: string }) => {
    if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
  });
  client.destroy();
  return {
    BACKUP_STORE: `s3://${S3_BUCKET}/backups?endpoint=${endpoint}`,
    BACKUP_COPIES: config.stores.primary.url,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: 'us-east-1',
  };
}

async function connect(config: Config, database: string): Promise<pg.Client> {
  const client = new pg.Client({ host: config.db.host, port: config.db.port, user: config.db.user, password: config.db.password, database });
  await client.connect();
  return client;
}

/** `<database>_copy`, or `_copy2`, `_copy3`, ...: a restore target the suggested command can create on every run. */
async function freeCopyName(config: Config, database: string): Promise<string> {
  const admin = await connect(config, 'postgres');
  try {
    const taken = new Set((await admin.query<{ datname: string }>('select datname from pg_database')).rows.map((r) => r.datname));
    for (let n = 1; ; n++) {
      const name = `${database}_copy${n === 1 ? '' : n}`;
      if (!taken.has(name)) return name;
    }
  } finally {
    await admin.end();
  }
}

/** A few tables with a foreign key, an index, text and jsonb: enough to see a real backup. */
async function ensureDemoDatabase(config: Config): Promise<void> {
  const admin = await connect(config, 'postgres');
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [DEMO_DATABASE]);
    if (exists.rowCount) return;
    say(`creating demo database ${DEMO_DATABASE}`);
    await admin.query(`create database ${DEMO_DATABASE}`);
  } finally {
    await admin.end();
  }
  const demo = await connect(config, DEMO_DATABASE);
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
  if (stopping) return new Promise<never>(() => undefined);
  stopping = true;
  process.stdout.write('\n');
  // The worker first, so it can finish or cancel its activities while the servers are still there.
  for (const { name, child } of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    say(`stopping ${name}...`);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  say(`stopped${existsSync(DATA) ? ` (state kept in ${path.relative(ROOT, DATA) || DATA}/)` : ''}`);
  process.exit(code);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { s3: { type: 'boolean', default: false } }, allowPositionals: true });
  let config: Config;
  let env: NodeJS.ProcessEnv;
  try {
    env = temporalEnvironment();
    if (env.BACKUP_DIR === undefined && env.BACKUP_STORE === undefined) {
      // This script's own store: made here, as the worker makes no configured store's directory.
      env.BACKUP_DIR = path.join(DATA, 'backups');
      mkdirSync(env.BACKUP_DIR, { recursive: true });
    }
    config = parseConfig(env, (p) => path.resolve(ROOT, p));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`npm run up: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  const database = validateDatabaseName(positionals[0] ?? DEMO_DATABASE);
  await startTemporal(config);
  const stores = values.s3 ? await startS3(config) : { BACKUP_STORE: config.stores.primary.url, BACKUP_COPIES: env.BACKUP_COPIES ?? '' };
  say('starting pgkeeper worker');
  const { BACKUP_DIR: _dir, ...workerEnv } = env;
  startChild('worker', WORKER, [], { ...workerEnv, ...stores });
  if (database === DEMO_DATABASE) await ensureDemoDatabase(config);

  const client = await connectClient(config);
  await requireWorker(client, config, 60_000); // the worker is still starting: its first poll
  say(`backing up "${database}"`);
  const handle = await startBackup(client, config, { database });
  let backedUp = false;
  try {
    printBackupResult(await showProgress(handle, handle.result(), config.temporal.taskQueue, process.stdout));
    backedUp = true;
  } catch (err) {
    say(`the first backup failed: ${rootCauseMessage(err)}`);
  }
  const moved = env.TEMPORAL_PORT || env.TEMPORAL_UI_PORT ? `  export TEMPORAL_ADDRESS=${config.temporal.address} TEMPORAL_UI_URL=${config.temporal.uiUrl}   first, in that terminal` : undefined;
  process.stdout.write(
    [
      '',
      `Temporal UI:   ${config.temporal.uiUrl}  (this backup: ${workflowUrl(config, handle.workflowId, handle.firstExecutionRunId)})`,
      `Backups:       ${stores.BACKUP_STORE}${stores.BACKUP_COPIES ? `, copies in ${stores.BACKUP_COPIES}` : ''}`,
      'Try next (in another terminal):',
      ...(moved ? [moved] : []),
      `  bin/pgkeeper backups                    list backups (the worker reads the stores)`,
      // With no backup made, what restores or verifies one would only fail again: the backup first.
      ...(backedUp
        ? [
            `  bin/pgkeeper backup ${database} --wait   another backup, with progress`,
            `  bin/pgkeeper restore latest --database ${database} --target ${await freeCopyName(config, database)} --wait   a safe restore into a new database`,
            '  bin/pgkeeper status                     last backup, last proven restore, next run',
            `  bin/pgkeeper verify ${database} --wait   read every stored archive back against its manifest`,
          ]
        : [`  bin/pgkeeper backup ${database} --wait   the backup again, once the cause above is fixed (the worker keeps running)`]),
      `  in the UI: Workflows -> the run above -> its history, input and result`,
      'Ctrl-C stops the worker and the servers (state is kept in .data/).',
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`npm run up: ${(err as Error).message}\n`);
  void stop(1);
});
