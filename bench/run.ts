/**
 * `npm run bench [-- --scale 0.63 --reps 3 --keep]`: pgkeeper against what it replaces and against
 * the bare tools, on one realistic database, in one run. Never part of the tests.
 *
 * Every repetition runs every measure, in reverse order on even repetitions (so neither side of a
 * comparison always runs on a warmer cache); the table shows medians:
 *   1. the extraction floor, `pg_dump -Fc -Z0 > /dev/null`, beside every backup time;
 *   2. the old scripts (`pg_dump -Fc` into a file; dropdb + createdb + pg_restore) against
 *      `bin/pgkeeper backup <db> --wait` and `bin/pgkeeper restore latest ... --wait`, compiled, as a
 *      user runs them (CLI start included);
 *   3. the backupDatabase workflow against the bare shell pipeline doing the same work with the
 *      same filters, without and with age; encryption on against off;
 *   4. backup to S3 (versitygw on loopback) against backup to disk, restore from S3 against restore
 *      from disk, and the worker's peak RSS while it uploads;
 *   5. the workflow at zstd:1, zstd:3, gzip:1 and gzip:6 (pg_dump's default): time and archive size.
 * Writes every sample to bench/results/<time>-scale<scale>.json.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { BackupInput } from '../common/backup-input.js';
import { parseConfig } from '../common/config.js';
import { DEFAULT_COMPRESSION, formatCompression } from '../common/filters.js';
import { databaseWorkflowId } from '../common/names.js';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes.js';
import type { BackupResult, BackupSkipped, RestoreResult } from '../common/types.js';
import type { backupDatabase } from '../workflows/backup-database.js';
import { startS3Server, type S3Server } from '../test/helpers/s3-server.js';
import { temporalCliPath } from '../test/helpers/temporal.js';
import { BENCH_DATABASE, ensureBenchDatabase } from './build-database.js';
import { childNamed, cpuOf, cpuOfAll, cpuSince, peakRss, rssBytes, timed } from './measure.js';
import { databasesStartingWith, dropDatabases, pgTools } from './postgres.js';
import { checkBuilt, ROOT, runCli, startWorker, type BenchWorker } from './processes.js';
import { formatValue, Samples } from './report.js';
import { summarize } from './summary.js';
import { barePipeline, extractionFloor, makeAgeKey, scriptBackup, scriptRestore, toolVersion, type ShellRun } from './shell.js';
import { timeline, type Timeline } from './timeline.js';

/** About 580 MB on PostgreSQL 15: the size of the database the issues' numbers were measured on (scale 1 is ~914 MB). */
const DEFAULT_SCALE = '0.63';
/** Section 5: the workflow at each; the default compression is among them (reused from section 3). */
const COMPRESSIONS = ['zstd:1', 'zstd:3', 'gzip:1', 'gzip:6'];
const RESTORE_PREFIX = `${BENCH_DATABASE}_restore_`;

const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: DEFAULT_SCALE },
    reps: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const scale = Number(args.scale);
const reps = Number(args.reps);
if (!(scale > 0) || !Number.isInteger(reps) || reps < 1) throw new Error('usage: npm run bench -- [--scale 0.63] [--reps 3] [--keep] [--only id,id,...]');
/** `--only workflow.disk,workflow.age`: those measures alone, e.g. more repetitions of one comparison. */
const only = args.only?.split(',').map((id) => id.trim()).filter(Boolean);

const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const defaultCompression = formatCompression(DEFAULT_COMPRESSION);
if (DEFAULT_COMPRESSION.kind !== 'zstd') throw new Error(`the bare pipeline compresses with zstd; the default is now ${defaultCompression}: update bench/shell.ts`);
const defaultLevel = DEFAULT_COMPRESSION.level;

/** Only the database settings of the caller's environment: the benchmark picks its own stores, queues and keys. */
const dbEnv = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && /^(DB_HOST|DB_PORT|DB_USER|DB_PASSWORD|PG_BIN_DIR)$/.test(k))) as Record<string, string>;
const config = parseConfig({ ...dbEnv, BACKUP_DIR: os.tmpdir() }, (p) => path.resolve(p));

async function main(): Promise<void> {
  const startedMs = performance.now();
  checkBuilt();
  const loadAtStart = os.loadavg();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'pgkeeper-bench-'));
  const dbBytes = await ensureBenchDatabase(config, scale, log);
  const tools = await pgTools(config);
  const versions = {
    postgres: tools.serverVersion,
    pg_dump: await toolVersion(tools, 'pg_dump'),
    zstd: await toolVersion(tools, 'zstd'),
    age: await toolVersion(tools, 'age'),
    node: process.version,
  };
  log(`database ${BENCH_DATABASE}: ${formatValue(dbBytes, 'MB')} at scale ${scale}; ${reps} repetitions; ${os.cpus().length} CPUs; load average ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}`);
  if (loadAtStart[0]! > os.cpus().length / 2) log(`warning: the machine is busy (load ${loadAtStart[0]!.toFixed(1)}): these numbers are noisy`);
  await dropDatabases(config, await databasesStartingWith(config, RESTORE_PREFIX));

  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: temporalCliPath() }, searchAttributes: SEARCH_ATTRIBUTES } });
  let s3: S3Server | undefined;
  const workers: BenchWorker[] = [];
  const samples = new Samples();
  /** The last run of each workflow measure, from its history: where its wall time went. */
  const timelines: Record<string, Timeline> = {};
  const idleRssBytes: Record<string, number> = {};
  let failed = false;
  // The workers run in process groups of their own, out of reach of the terminal's Ctrl-C; the
  // servers are stopped too, for a SIGINT or SIGTERM sent to this process alone.
  let temporalPid: number | undefined;
  let interrupting = false;
  const interrupted = (signal: NodeJS.Signals) => {
    if (interrupting) return;
    interrupting = true;
    for (const w of workers) w.killNow();
    if (temporalPid !== undefined) process.kill(temporalPid, 'SIGTERM');
    rmSync(workDir, { recursive: true, force: true });
    process.stderr.write(`bench: interrupted (${signal}); workers and servers stopped\n`);
    const stopped = s3?.stop() ?? Promise.resolve();
    void stopped.finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  try {
    s3 = await startS3Server();
    const s3Pid = () => s3?.pid();
    const identityFile = path.join(workDir, 'age-identity.txt');
    const recipient = await makeAgeKey(identityFile);
    const common = {
      ...dbEnv,
      TEMPORAL_ADDRESS: env.address,
      LOG_LEVEL: 'info',
      SCRATCH_DIR: path.join(workDir, 'scratch'),
    };
    const diskDir = path.join(workDir, 'disk');
    const start = async (name: string, extra: Record<string, string>) => {
      const worker = await startWorker(name, { ...common, TASK_QUEUE: `bench-${process.pid}-${name}`, ...extra }, path.join(workDir, `worker-${name}.log`));
      workers.push(worker);
      return worker;
    };
    mkdirSync(diskDir);
    mkdirSync(path.join(workDir, 'disk-age'));
    // One store per worker: "latest" on the disk store is always an unencrypted backup.
    const disk = await start('disk', { BACKUP_DIR: diskDir });
    const aged = await start('age', { BACKUP_DIR: path.join(workDir, 'disk-age'), ENCRYPT_RECIPIENTS: recipient, AGE_IDENTITY_FILE: identityFile });
    const s3Worker = await start('s3', {
      BACKUP_STORE: `s3://${s3.bucket}/bench?endpoint=${s3.endpoint}`,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_REGION: s3.region,
    });
    temporalPid = childNamed('temporal');
    log(`Temporal dev server ${env.address} (pid ${temporalPid ?? "not found"}); versitygw ${s3.endpoint}; workers ${workers.map((w) => `${w.name} (pid ${w.pid})`).join(', ')}; work in ${workDir}`);

    /** backupDatabase through the Temporal client (no CLI), with the worker's CPU and peak RSS. */
    const workflowBackup = async (id: string, worker: BenchWorker, input: Omit<BackupInput, 'database'>) => {
      const cpu = cpuOf(worker.pid);
      const { value: run, peakBytes } = await peakRss(worker.pid, () =>
        timed(async () => {
          const handle = await env.client.workflow.start<typeof backupDatabase>('backupDatabase', {
            args: [{ database: BENCH_DATABASE, ...input }],
            taskQueue: worker.taskQueue,
            workflowId: databaseWorkflowId(worker.taskQueue, BENCH_DATABASE),
          });
          return { handle, result: await handle.result() };
        }),
      );
      const used = cpuSince(cpu, cpuOf(worker.pid));
      const result = completed(run.value.result);
      timelines[id] = await timeline(run.value.handle);
      samples.add(id, {
        ms: run.ms,
        archiveBytes: result.sizeBytes,
        workerCpu: used.own,
        toolsCpu: used.children,
        peakRssBytes: peakBytes,
        ...phases(result),
      });
    };
    const bare = async (id: string, run: () => Promise<ShellRun & { fsyncMs?: number }>, file?: string) => {
      const { ms, cpu, fsyncMs } = await run();
      samples.add(id, { ms, toolsCpu: cpu.children, fsyncMs, ...(file ? { archiveBytes: statSync(file).size } : {}) });
    };
    const cliBackup = async () => {
      const cpu = cpuOf(disk.pid);
      const run = await runCli(disk, ['backup', BENCH_DATABASE, '--wait']);
      const used = cpuSince(cpu, cpuOf(disk.pid));
      const result = completed(await env.client.workflow.getHandle(databaseWorkflowId(disk.taskQueue, BENCH_DATABASE)).result());
      samples.add('cli.backup', { ms: run.ms, cliCpu: run.cpu.children, workerCpu: used.own, toolsCpu: used.children, archiveBytes: result.sizeBytes, ...phases(result) });
    };
    const scriptFile = path.join(workDir, 'script.dump');

    const backupMeasures: [string, () => Promise<void>][] = [
      [
        'cli.start',
        async () => {
          const run = await runCli(disk, ['--help']);
          samples.add('cli.start', { ms: run.ms, cliCpu: run.cpu.children });
        },
      ],
      ['floor', () => bare('floor', () => extractionFloor(tools, BENCH_DATABASE))],
      ['script.backup', () => bare('script.backup', () => scriptBackup(tools, BENCH_DATABASE, scriptFile), scriptFile)],
      ['cli.backup', cliBackup],
      ['bare.zstd', () => bare('bare.zstd', () => barePipeline(tools, BENCH_DATABASE, path.join(workDir, 'bare.dump.zst'), defaultLevel), path.join(workDir, 'bare.dump.zst'))],
      ['workflow.disk', () => workflowBackup('workflow.disk', disk, {})],
      ['bare.age', () => bare('bare.age', () => barePipeline(tools, BENCH_DATABASE, path.join(workDir, 'bare.dump.zst.age'), defaultLevel, recipient), path.join(workDir, 'bare.dump.zst.age'))],
      ['workflow.age', () => workflowBackup('workflow.age', aged, {})],
      ['workflow.s3', () => workflowBackup('workflow.s3', s3Worker, {})],
      ...COMPRESSIONS.filter((c) => c !== defaultCompression).map((c): [string, () => Promise<void>] => [`workflow.${c}`, () => workflowBackup(`workflow.${c}`, disk, { compression: c })]),
    ];

    const restoreTarget = (what: string) => `${RESTORE_PREFIX}${what}`;
    const cliRestore = async (id: string, worker: BenchWorker) => {
      const target = restoreTarget(worker.name);
      await dropDatabases(config, [target]);
      const cpu = cpuOf(worker.pid);
      const { value: run, peakBytes } = await peakRss(worker.pid, () => runCli(worker, ['restore', 'latest', '--database', BENCH_DATABASE, '--target', target, '--wait']));
      const used = cpuSince(cpu, cpuOf(worker.pid));
      const handle = env.client.workflow.getHandle(databaseWorkflowId(worker.taskQueue, target));
      const result = (await handle.result()) as RestoreResult;
      timelines[id] = await timeline(handle);
      samples.add(id, {
        ms: run.ms,
        cliCpu: run.cpu.children,
        workerCpu: used.own,
        toolsCpu: used.children,
        peakRssBytes: peakBytes,
        fetchMs: result.durationsMs.fetch,
        restoreMs: result.durationsMs.restore,
        validateMs: result.durationsMs.validate,
        totalMs: result.durationsMs.total,
      });
      await dropDatabases(config, [target]);
    };
    const restoreMeasures: [string, () => Promise<void>][] = [
      [
        'script.restore',
        async () => {
          const target = restoreTarget('script');
          await dropDatabases(config, [target]);
          await bare('script.restore', () => scriptRestore(tools, scriptFile, target));
          await dropDatabases(config, [target]);
        },
      ],
      ['cli.restore.disk', () => cliRestore('cli.restore.disk', disk)],
      ['cli.restore.s3', () => cliRestore('cli.restore.s3', s3Worker)],
    ];

    const selected = (measures: [string, () => Promise<void>][]) => (only ? measures.filter(([id]) => only.includes(id)) : measures);
    const unknown = only?.filter((id) => ![...backupMeasures, ...restoreMeasures].some(([known]) => known === id));
    if (unknown?.length) throw new UsageError(`--only: no measure named ${unknown.join(', ')}; the measures are ${[...backupMeasures, ...restoreMeasures].map(([id]) => id).join(', ')}`);
    if (only?.includes('script.restore') && !only.includes('script.backup')) throw new UsageError('--only: script.restore restores the file script.backup writes; name both');

    // Warm up: the table's pages in the OS cache, each worker's first activity (JIT, connections,
    // tool checks) done, as on a worker that has been running for a while.
    log('warming up (not measured)...');
    await extractionFloor(tools, BENCH_DATABASE);
    for (const w of workers) await runCli(w, ['backup', BENCH_DATABASE, '--wait']);
    for (const w of workers) idleRssBytes[w.name] = rssBytes(w.pid);

    const runReps = async (what: string, all: [string, () => Promise<void>][]) => {
      const measures = selected(all);
      if (measures.length === 0) return;
      for (let rep = 1; rep <= reps; rep++) {
        const order = rep % 2 ? measures : [...measures].reverse();
        for (const [id, measure] of order) {
          // The servers share the machine's cores with what is measured: their CPU is part of the cost.
          const servers = { temporal: cpuOfAll([temporalPid]), s3: cpuOfAll([s3Pid()]) };
          await measure();
          samples.add(id, { temporalCpu: cpuOfAll([temporalPid]) - servers.temporal, s3Cpu: cpuOfAll([s3Pid()]) - servers.s3 });
        }
        log(`${what} rep ${rep}/${reps} (load ${os.loadavg()[0]!.toFixed(1)}): ${measures.map(([id]) => `${id} ${seconds(samples.last(id))}`).join(', ')}`);
      }
    };
    await runReps('backup', backupMeasures);
    if (selected(restoreMeasures).length > 0) {
      // "latest" on each store must be a backup with the default chain, as a user's would be.
      await runCli(disk, ['backup', BENCH_DATABASE, '--wait']);
      await runCli(s3Worker, ['backup', BENCH_DATABASE, '--wait']);
      await runReps('restore', restoreMeasures);
    }
  } catch (err) {
    if (err instanceof UsageError) throw err; // nothing ran: no logs or work to look at
    failed = true;
    for (const w of workers) process.stderr.write(`--- worker ${w.name}, last lines:\n${w.logTail()}\n`);
    throw err;
  } finally {
    for (const w of workers) await w.stop();
    await s3?.stop();
    await env.teardown();
    await dropDatabases(config, await databasesStartingWith(config, RESTORE_PREFIX)).catch(() => undefined);
    if (args.keep || failed) log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }

  const out = summarize(samples, {
    scale,
    reps,
    ...(only ? { only } : {}),
    defaultCompression,
    compressions: COMPRESSIONS,
    database: BENCH_DATABASE,
    dbBytes,
    versions,
    loadAtStart,
    loadAtEnd: os.loadavg(),
    timelines,
    idleRssBytes,
  });
  log(`written to ${path.relative(ROOT, out)}`);
  log(`the whole run took ${((performance.now() - startedMs) / 60_000).toFixed(1)} min`);
}

/** A mistake in the command line: said alone, without the workers' logs. */
class UsageError extends Error {}

function completed(result: BackupResult | BackupSkipped): BackupResult {
  if (result.status !== 'completed') throw new Error(`the backup was skipped: ${result.reason}`);
  return result;
}

function phases(result: BackupResult): Record<string, number> {
  const d = result.durationsMs;
  return { waitMs: d.wait, dumpMs: d.dump, publishMs: d.publish, copyMs: d.copy, retentionMs: d.retention, totalMs: d.total };
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof UsageError ? err.message : ((err as Error).stack ?? String(err))}\n`);
  process.exit(1);
});
