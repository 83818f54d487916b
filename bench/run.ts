/**
 * `npm run bench [-- --scale 1 --reps 3 --jobs 2 --compress 1]`: what the orchestration costs over
 * the bare tools, measured in the same run on the same database. Never part of the tests.
 * Prints medians and ratios (workflow / bare) and writes them to bench/results/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { parseConfig } from '../common/config.js';
import { databaseWorkflowId } from '../common/names.js';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes.js';
import { createSchedule, triggerNow } from '../client/schedules.js';
import { backupDatabase, restoreDatabase } from '../workflows/index.js';
import { temporalCliPath } from '../test/helpers/temporal.js';
import { processesMatching } from '../test/helpers/processes.js';
import { spawnWorker } from '../test/helpers/worker-process.js';
import { BENCH_DATABASE, ensureBenchDatabase } from './build-database.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: { scale: { type: 'string', default: '1' }, reps: { type: 'string', default: '3' }, jobs: { type: 'string', default: '2' }, compress: { type: 'string', default: '1' } },
});
const scale = Number(args.scale);
const reps = Number(args.reps);
const jobs = Number(args.jobs);
const compress = Number(args.compress);

const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seconds = (ms: number) => (ms / 1000).toFixed(2);
const mb = (bytes: number) => (bytes / 1e6).toFixed(0);

const workDir = path.join(os.tmpdir(), `pgkeeper-bench-${process.pid}`);
const config = parseConfig({ ...process.env, BACKUP_DIR: path.join(workDir, 'backups'), TASK_QUEUE: `bench-${process.pid}`, LOG_LEVEL: 'warn' }, (p) => path.resolve(p));
const pgArgs = ['-h', config.db.host, '-p', String(config.db.port), '-U', config.db.user];
const pgEnv = { ...process.env, ...(config.db.password ? { PGPASSWORD: config.db.password } : {}) };
const pgBin = (tool: string) => {
  const major = execFileSync('psql', [...pgArgs, '-d', 'postgres', '-Atc', 'show server_version_num'], { env: pgEnv, encoding: 'utf8' }).trim();
  const dir = `/usr/lib/postgresql/${Math.floor(Number(major) / 10_000)}/bin`;
  return path.join(dir, tool);
};

function timed(run: () => void): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

async function timedAsync(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

function dropDatabase(name: string): void {
  execFileSync('psql', [...pgArgs, '-d', 'postgres', '-qc', `drop database if exists "${name}" with (force)`], { env: pgEnv });
}

/** Peak resident memory of a process while `during` runs, sampled every 50 ms. */
async function peakRss(pid: number, during: () => Promise<unknown>): Promise<number> {
  let peak = 0;
  const sample = () => {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) peak = Math.max(peak, Number(m[1]) * 1024);
  };
  const timer = setInterval(sample, 50);
  try {
    await during();
  } finally {
    clearInterval(timer);
    sample();
  }
  return peak;
}

async function main(): Promise<void> {
  mkdirSync(config.backupDir, { recursive: true });
  const dbBytes = await ensureBenchDatabase(config, scale, log);
  log(`database ${BENCH_DATABASE}: ${mb(dbBytes)} MB; ${reps} repetitions; pg_dump -Z${compress}; pg_restore -j${jobs}; ${os.cpus().length} CPUs`);

  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalCliPath() }, searchAttributes: SEARCH_ATTRIBUTES },
  });
  const worker = await spawnWorker(env.address, config, true);
  const workerPid = worker.child.pid!;
  const bareFile = path.join(workDir, 'bare.dump');
  const rows = { bareDump: [] as number[], workflowBackup: [] as number[], workflowDumpPhase: [] as number[], workflowBackupToc: [] as number[], bareRestore: [] as number[], workflowRestore: [] as number[], triggerToDump: [] as number[], rss: [] as number[] };
  let archiveBytes = 0;
  let latestBackupId = '';
  try {
    for (let rep = 1; rep <= reps; rep++) {
      // Alternate the order so neither side always runs on a warmer cache.
      const bare = () => rows.bareDump.push(timed(() => execFileSync(pgBin('pg_dump'), [...pgArgs, '-Fc', `-Z${compress}`, '-f', bareFile, BENCH_DATABASE], { env: pgEnv })));
      const flowToc = async () => {
        rows.workflowBackupToc.push(
          await timedAsync(() =>
            env.client.workflow.execute(backupDatabase, {
              args: [{ database: BENCH_DATABASE, compressLevel: compress, retention: { keepLast: 1 }, verify: 'toc' }],
              taskQueue: config.temporal.taskQueue,
              workflowId: databaseWorkflowId(config.temporal.taskQueue, BENCH_DATABASE),
            }),
          ),
        );
      };
      const flow = async () => {
        const ms = await timedAsync(async () => {
          rows.rss.push(
            await peakRss(workerPid, async () => {
              const result = await env.client.workflow.execute(backupDatabase, {
                args: [{ database: BENCH_DATABASE, compressLevel: compress, retention: { keepLast: 1 } }],
                taskQueue: config.temporal.taskQueue,
                workflowId: databaseWorkflowId(config.temporal.taskQueue, BENCH_DATABASE),
              });
              if (result.status !== 'completed') throw new Error(result.reason);
              rows.workflowDumpPhase.push(result.durationsMs.dump);
              archiveBytes = result.sizeBytes;
              latestBackupId = result.backupId;
            }),
          );
        });
        rows.workflowBackup.push(ms);
      };
      if (rep % 2) {
        bare();
        await flowToc();
        await flow();
      } else {
        await flow();
        await flowToc();
        bare();
      }
      log(
        `backup rep ${rep}: bare ${seconds(rows.bareDump.at(-1)!)} s, workflow ${seconds(rows.workflowBackup.at(-1)!)} s, workflow verify=toc ${seconds(rows.workflowBackupToc.at(-1)!)} s`,
      );
    }

    for (let rep = 1; rep <= reps; rep++) {
      const bareTarget = 'pgkeeper_bench_bare_restore';
      const flowTarget = 'pgkeeper_bench_flow_restore';
      const bare = () => {
        dropDatabase(bareTarget);
        execFileSync('psql', [...pgArgs, '-d', 'postgres', '-qc', `create database ${bareTarget} template template0`], { env: pgEnv });
        rows.bareRestore.push(timed(() => execFileSync(pgBin('pg_restore'), [...pgArgs, `-j${jobs}`, '--exit-on-error', '-d', bareTarget, bareFile], { env: pgEnv })));
        dropDatabase(bareTarget);
      };
      const flow = async () => {
        dropDatabase(flowTarget);
        rows.workflowRestore.push(
          await timedAsync(() =>
            env.client.workflow.execute(restoreDatabase, {
              args: [{ backup: latestBackupId, target: flowTarget, jobs }],
              taskQueue: config.temporal.taskQueue,
              workflowId: databaseWorkflowId(config.temporal.taskQueue, flowTarget),
            }),
          ),
        );
        dropDatabase(flowTarget);
      };
      if (rep % 2) {
        bare();
        await flow();
      } else {
        await flow();
        bare();
      }
      log(`restore rep ${rep}: bare ${seconds(rows.bareRestore.at(-1)!)} s, workflow ${seconds(rows.workflowRestore.at(-1)!)} s`);
    }

    const schedule = await createSchedule(env.client, config, { database: BENCH_DATABASE }, { every: '24h', retention: { keepLast: 1 } });
    await schedule.pause('bench: triggered by hand only');
    for (let rep = 1; rep <= reps; rep++) {
      const started = performance.now();
      await triggerNow(schedule);
      while (processesMatching(`pg_dump.*${BENCH_DATABASE}`).length === 0) await new Promise((r) => setTimeout(r, 10));
      rows.triggerToDump.push(performance.now() - started);
      while ((await schedule.describe()).info.runningActions.length > 0) await new Promise((r) => setTimeout(r, 200));
    }
    await schedule.delete();
  } finally {
    await worker.kill('SIGTERM');
    await env.teardown();
    rmSync(workDir, { recursive: true, force: true });
  }

  const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)])) as { [K in keyof typeof rows]: number };
  const results = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    database: { name: BENCH_DATABASE, scale, bytes: dbBytes, archiveBytes },
    settings: { reps, jobs, compressLevel: compress },
    mediansSeconds: Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'rss').map(([k, v]) => [k, Number(seconds(v))])),
    ratios: {
      backup: Number((m.workflowBackup / m.bareDump).toFixed(3)),
      backupDumpPhase: Number((m.workflowDumpPhase / m.bareDump).toFixed(3)),
      backupVerifyToc: Number((m.workflowBackupToc / m.bareDump).toFixed(3)),
      restore: Number((m.workflowRestore / m.bareRestore).toFixed(3)),
    },
    workerPeakRssMB: Number(mb(m.rss)),
    triggerToPgDumpSeconds: Number(seconds(m.triggerToDump)),
    targets: { backup: 1.05, restore: 1.1, workerPeakRssMB: 200 },
  };
  const table = [
    `| measure (median of ${reps}) | bare | workflow | ratio | target |`,
    '| --- | --- | --- | --- | --- |',
    `| backup: pg_dump -Fc -Z${compress} vs backupDatabase (end to end) | ${seconds(m.bareDump)} s | ${seconds(m.workflowBackup)} s | ${results.ratios.backup} | ≤ 1.05 |`,
    `| backup: dump phase alone (pg_dump + hash + read-through + write) | ${seconds(m.bareDump)} s | ${seconds(m.workflowDumpPhase)} s | ${results.ratios.backupDumpPhase} | |`,
    `| backup with verify: "toc" (no full read-through) | ${seconds(m.bareDump)} s | ${seconds(m.workflowBackupToc)} s | ${results.ratios.backupVerifyToc} | |`,
    `| restore: pg_restore -j${jobs} vs restoreDatabase (end to end) | ${seconds(m.bareRestore)} s | ${seconds(m.workflowRestore)} s | ${results.ratios.restore} | ≤ 1.10 |`,
    `| worker peak RSS during a backup | | ${results.workerPeakRssMB} MB | | < 200 MB |`,
    `| schedule trigger → pg_dump running | | ${seconds(m.triggerToDump)} s | | |`,
  ].join('\n');
  process.stdout.write(`\n${results.machine}; database ${mb(dbBytes)} MB, archive ${mb(archiveBytes)} MB\n${table}\n`);
  const out = path.join(ROOT, 'bench', 'results', `${results.date.slice(0, 19).replace(/:/g, '')}-scale${scale}.json`);
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  log(`written to ${path.relative(ROOT, out)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
