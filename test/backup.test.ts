import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { applyRetention, backupDatabase } from '../workflows/index.js';
import { makeBackupId } from '../common/backup-id.js';
import { databaseWorkflowId } from '../common/names.js';
import type { BackupManifest } from '../common/types.js';
import { pgTool, pgToolEnv } from './helpers/cluster.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, dropDatabase, seedDatabase, tableFingerprints } from './helpers/postgres.js';
import { startDevServer, withWorker } from './helpers/temporal.js';

describe('backupDatabase workflow', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  const source = uniqueName('pgk_src');
  const copy = uniqueName('pgk_copy');

  before(async () => {
    env = await startDevServer();
    await seedDatabase(config, source);
  });
  after(async () => {
    await dropDatabase(config, source);
    await dropDatabase(config, copy);
    await env?.teardown();
  });

  it('dumps, checksums, verifies and publishes a backup that pg_restore brings back identical', async () => {
    const result = await withWorker(env, config, () =>
      env.client.workflow.execute(backupDatabase, {
        args: [{ database: source }],
        taskQueue: config.temporal.taskQueue,
        workflowId: uniqueName('backup'),
      }),
    );

    assert.equal(result.status, 'completed');
    assert.equal(result.database, source);
    assert.match(result.backupId, new RegExp(`^${source}-\\d{8}T\\d{6}Z-[0-9a-f]{8}$`));
    assert.equal(result.compressLevel, 1);
    assert.equal(path.dirname(result.dumpPath), path.join(config.backupDir, source));

    // Exactly the three files of a complete backup, nothing partial left behind.
    const files = (await fs.readdir(path.join(config.backupDir, source))).sort();
    assert.deepEqual(files, [`${result.backupId}.dump`, `${result.backupId}.dump.sha256`, `${result.backupId}.manifest.json`]);

    // The sidecar is accepted by coreutils, and matches the size and hash the workflow reported.
    execFileSync('sha256sum', ['-c', `${result.backupId}.dump.sha256`], { cwd: path.join(config.backupDir, source) });
    const stat = await fs.stat(result.dumpPath);
    assert.equal(stat.size, result.sizeBytes);

    const manifest = JSON.parse(await fs.readFile(result.manifestPath, 'utf8')) as BackupManifest;
    assert.equal(manifest.id, result.backupId);
    assert.equal(manifest.sha256, result.sha256);
    assert.equal(manifest.sizeBytes, result.sizeBytes);
    assert.match(manifest.pgDumpVersion, /^pg_dump \(PostgreSQL\) \d+/);
    assert.ok(manifest.server.versionNum >= 100000);
    assert.ok(manifest.toc.entries > 10, `TOC has ${manifest.toc.entries} entries`);
    assert.equal(manifest.toc.tableDataEntries, 3);
    assert.deepEqual(
      manifest.tables.map((t) => `${t.schema}.${t.name}=${t.rowEstimate}`),
      ['audit.events=3000', 'public.customers=2000', 'public.orders=5000'],
    );

    // The archive restores into a fresh database with identical content.
    await createDatabase(config, copy);
    execFileSync(pgTool('pg_restore'), ['--exit-on-error', '-h', config.db.host, '-p', String(config.db.port), '-d', copy, result.dumpPath], { env: pgToolEnv() });
    const [want, got] = await Promise.all([tableFingerprints(config, source), tableFingerprints(config, copy)]);
    assert.equal(Object.keys(want).length, 3);
    assert.deepEqual(got, want);
  });

  it('refuses bad input before doing anything', async () => {
    await withWorker(env, config, async () => {
      for (const [input, message] of [
        [{ database: '' }, /database is required/],
        [{ database: 'x'.repeat(64) }, /64 bytes; PostgreSQL names are at most 63/],
        [{ database: '../etc' }, /contains a slash/],
        [{ database: source, compressLevel: 12 }, /compressLevel must be a whole number from 0 to 9/],
      ] as const) {
        await assert.rejects(
          env.client.workflow.execute(backupDatabase, { args: [input], taskQueue: config.temporal.taskQueue, workflowId: uniqueName('bad') }),
          (err: Error & { cause?: Error & { type?: string } }) => {
            assert.equal(err.cause?.type, 'InvalidInput');
            assert.match(err.cause!.message, message);
            return true;
          },
        );
      }
    });
    assert.deepEqual(await fs.readdir(config.backupDir).catch(() => []), [source]);
  });

  it('three failed backups in a row delete nothing, however old the existing backups', async () => {
    const gone = uniqueName('pgk_gone'); // has backups on disk, but the database no longer exists
    const dir = path.join(config.backupDir, gone);
    await fs.mkdir(dir, { recursive: true });
    for (const ageDays of [30, 60, 90]) {
      const id = makeBackupId(gone, Date.now() - ageDays * 86_400_000, `0000000${ageDays % 10}`);
      await fs.writeFile(path.join(dir, `${id}.dump`), 'PGDMP');
      await fs.writeFile(path.join(dir, `${id}.manifest.json`), JSON.stringify({ id, startedAt: new Date(Date.now() - ageDays * 86_400_000).toISOString() }));
    }
    const before = (await fs.readdir(dir)).sort();
    await withWorker(env, config, async () => {
      for (let i = 0; i < 3; i++) {
        await assert.rejects(
          env.client.workflow.execute(backupDatabase, { args: [{ database: gone }], taskQueue: config.temporal.taskQueue, workflowId: uniqueName('fail') }),
          WorkflowFailedError,
        );
      }
    });
    assert.deepEqual((await fs.readdir(dir)).sort(), before);
  });

  it('prune: a dry run plans, a real run deletes what the plan said', async () => {
    const db = uniqueName('pgk_prune');
    const dir = path.join(config.backupDir, db);
    await fs.mkdir(dir, { recursive: true });
    const ids = [1, 10, 20].map((ageDays) => {
      const id = makeBackupId(db, Date.now() - ageDays * 86_400_000, `0000000${ageDays % 10}`);
      return { id, startedAt: new Date(Date.now() - ageDays * 86_400_000).toISOString() };
    });
    for (const m of ids) {
      await fs.writeFile(path.join(dir, `${m.id}.dump`), 'PGDMP');
      await fs.writeFile(path.join(dir, `${m.id}.manifest.json`), JSON.stringify(m));
    }
    await withWorker(env, config, async () => {
      const run = (dryRun: boolean) =>
        env.client.workflow.execute(applyRetention, {
          args: [{ database: db, policy: { maxAgeDays: 15 }, dryRun }],
          taskQueue: config.temporal.taskQueue,
          workflowId: databaseWorkflowId(config.temporal.taskQueue, db),
        });
      const planned = await run(true);
      assert.equal(planned.status, 'completed');
      assert.deepEqual(planned.plan.filter((d) => d.action === 'delete').map((d) => d.id), [ids[2]!.id]);
      assert.deepEqual(planned.deleted, []);
      assert.equal((await fs.readdir(dir)).length, 6);
      const applied = await run(false);
      assert.deepEqual(applied.status === 'completed' && applied.deleted, [ids[2]!.id]);
      assert.equal((await fs.readdir(dir)).length, 4);
    });
  });
});
