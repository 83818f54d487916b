/**
 * backupDatabase end to end, on a local store and on S3: the archive stream into the store, the
 * sidecar and manifest, and archives that the plain tools (zstd, pg_restore, sha256sum) restore.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { dumpDatabase } from '../activities/dump-database.js';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { readTableEstimates, withClient } from '../activities/postgres/pg-client.js';
import { backupKeys } from '../common/backup-keys.js';
import { parseCompression } from '../common/filters.js';
import { parseManifest, type BackupManifest } from '../common/manifest.js';
import { databaseWorkflowId } from '../common/names.js';
import type { BackupResult } from '../common/types.js';
import { applyRetention, backupDatabase } from '../workflows/index.js';
import { pgTool, pgToolEnv } from './helpers/cluster.js';
import { uniqueName } from './helpers/config.js';
import { writeFakeBackup } from './helpers/fake-backups.js';
import { createDatabase, dropDatabase, seedDatabase, tableFingerprints } from './helpers/postgres.js';
import { keysUnder, readObject, STORE_KINDS, storeUnderTest, type StoreUnderTest } from './helpers/stores.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';

for (const kind of STORE_KINDS) {
  describe(`backupDatabase workflow (${kind} store)`, () => {
    let env: TestWorkflowEnvironment;
    let t: StoreUnderTest;
    const source = uniqueName('pgk_src');
    const copies: string[] = [];

    const backUp = (input: Record<string, unknown>, workflowId = uniqueName('backup')) =>
      env.client.workflow.execute(backupDatabase, { args: [input as never], taskQueue: t.config.temporal.taskQueue, workflowId });

    const systemIdentifier = () =>
      execFileSync(pgTool('psql'), ['-X', '-Atc', 'select system_identifier from pg_control_system()', source], { env: pgToolEnv(), encoding: 'utf8' }).trim();

    /** Restores `archive` with nothing but the plain tools, as the README's recipe does, and compares. */
    const restoresWithPlainTools = async (archive: Buffer, decompress: boolean) => {
      const copy = uniqueName('pgk_plain');
      copies.push(copy);
      await createDatabase(t.config, copy);
      const plain = decompress ? execFileSync('zstd', ['-dc'], { input: archive, maxBuffer: 1 << 30 }) : archive;
      execFileSync(pgTool('pg_restore'), ['--exit-on-error', '-d', copy], { input: plain, env: pgToolEnv() });
      assert.deepEqual(await tableFingerprints(t.config, copy), await tableFingerprints(t.config, source));
    };

    before(async () => {
      t = await storeUnderTest(kind);
      env = await startDevServer();
      await seedDatabase(t.config, source);
    });
    after(async () => {
      for (const db of [source, ...copies]) await dropDatabase(t.config, db);
      await env?.teardown();
      await t?.stop();
    });

    it('streams zstd archives into the store; sidecar and manifest last; plain zstd | pg_restore brings it back identical', async () => {
      const result = (await withWorker(env, t.config, () => backUp({ database: source }))) as BackupResult;
      assert.equal(result.status, 'completed');
      assert.match(result.backupId, new RegExp(`^${source}-\\d{8}T\\d{6}Z-[0-9a-f]{8}$`));
      assert.equal(result.compression, 'zstd:1');
      assert.equal(result.encrypted, false);
      assert.equal(result.archiveKey, `${source}/${result.backupId}.dump.zst`);
      assert.deepEqual(result.stores, [{ store: t.store.url, role: 'primary', status: 'stored' }]);

      // Exactly the three objects of a complete backup: no facts, nothing partial.
      const keys = backupKeys(source, result.backupId, [{ filter: 'zstd', level: 1 }]);
      assert.deepEqual(await keysUnder(t.store, `${source}/`), [keys.archive, keys.sidecar, keys.manifest].sort());

      const archive = await readObject(t.store, keys.archive);
      assert.equal(archive.length, result.sizeBytes);
      // The sidecar is accepted by coreutils next to the archive, wherever it was copied to.
      const dir = tempDir('sidecar');
      writeFileSync(path.join(dir, path.basename(keys.archive)), archive);
      writeFileSync(path.join(dir, path.basename(keys.sidecar)), await readObject(t.store, keys.sidecar));
      execFileSync('sha256sum', ['-c', path.basename(keys.sidecar)], { cwd: dir });

      const manifest = parseManifest((await readObject(t.store, keys.manifest)).toString(), result.backupId) as BackupManifest;
      assert.equal(manifest.manifestVersion, 2);
      assert.deepEqual(manifest.files, [{ name: path.basename(keys.archive), sizeBytes: result.sizeBytes, sha256: result.sha256 }]);
      assert.deepEqual(manifest.filters, [{ filter: 'zstd', level: 1 }]);
      assert.equal(manifest.plaintext, null);
      // zstd's own count of what pg_dump wrote: exactly what decompression gives back.
      assert.equal(manifest.dumpBytes, execFileSync('zstd', ['-dc'], { input: archive, maxBuffer: 1 << 30 }).length);
      assert.ok(manifest.dumpBytes > result.sizeBytes, 'pg_dump wrote uncompressed; zstd compressed');
      assert.match(manifest.pgDumpVersion, /^pg_dump \(PostgreSQL\) \d+/);
      assert.equal(manifest.server?.systemIdentifier, systemIdentifier());
      assert.ok(manifest.toc.entries > 10, `TOC has ${manifest.toc.entries} entries`);
      assert.equal(manifest.toc.tableDataEntries, 3);
      assert.deepEqual(manifest.tables.map((x) => `${x.schema}.${x.name}=${x.rowEstimate}`), ['audit.events=3000', 'public.customers=2000', 'public.orders=5000']);
      assert.equal(manifest.databaseProperties?.encoding, 'UTF8');

      await restoresWithPlainTools(archive, true);
    });

    it('a backup of another server than the backup before it (system identifier) says so; the next one of the same server does not', async () => {
      const made = await withWorker(env, t.config, async () => {
        const first = (await backUp({ database: source, verify: 'toc' })) as BackupResult;
        // As if the backup before had been made by another server writing this database name here.
        const key = backupKeys(source, first.backupId, [{ filter: 'zstd', level: 1 }]).manifest;
        const manifest = JSON.parse((await readObject(t.store, key)).toString()) as BackupManifest;
        await t.store.put(key, JSON.stringify({ ...manifest, server: { ...manifest.server, systemIdentifier: '1234' } }));
        return { first, second: (await backUp({ database: source, verify: 'toc' })) as BackupResult, third: (await backUp({ database: source, verify: 'toc' })) as BackupResult };
      });
      assert.deepEqual(made.second.warnings, [
        `backup ${made.second.backupId} is of another PostgreSQL server (system identifier ${systemIdentifier()}) than the backup before it in ${t.store.url}, ${made.first.backupId} ` +
          `(system identifier 1234). After an upgrade or a move to a new server that is expected; if two servers back up "${source}" into this store, give each its own store ` +
          '(BACKUP_DIR or BACKUP_STORE): retention counts their backups together, and "latest" is whichever ran last',
      ]);
      assert.equal(made.third.warnings, undefined);
    });

    it("an attempt that fails late (timed out while Temporal was unreachable, yet still running) leaves its retry's facts, which publishing needs", async () => {
      const database = uniqueName('pgk_gone');
      const backupId = `${database}-20261124T020000Z-0f0f0f0f`;
      const { facts } = backupKeys(database, backupId, []);
      const retrys = JSON.stringify({ writer: 'run-1/2', startedAt: '2026-11-24T02:00:01Z' });
      await t.store.put(facts, retrys);
      const request = { database, backupId, compression: parseCompression('zstd:1'), verify: 'full' as const, workflow: { workflowId: 'w', runId: 'r' } };
      // The first attempt fails (here: its database is gone) after its retry wrote the facts.
      const attempt = (runId: string, n: number) => new MockActivityEnvironment({ attempt: n, workflowExecution: { workflowId: 'w', runId } });
      await assert.rejects(attempt('run-1', 1).run(dumpDatabase, t.config, request));
      await assert.rejects(attempt('run-0', 2).run(dumpDatabase, t.config, request), 'a reset run numbers its attempts afresh');
      assert.equal((await readObject(t.store, facts)).toString(), retrys, "the retry's facts are left as they were");
      // An attempt's own facts go with its failure: nothing of it looks like a backup.
      await t.store.put(facts, JSON.stringify({ writer: 'run-1/3' }));
      await assert.rejects(attempt('run-1', 3).run(dumpDatabase, t.config, request));
      assert.deepEqual(await keysUnder(t.store, `${database}/`), []);
    });

    it('a database whose name holds U+FFFE is not backed up (an S3 listing cannot return such a key): one clear refusal, nothing written', async () => {
      const database = 'pgk_nonchar_\uFFFE';
      const request = { database, backupId: `${database}-20261124T020000Z-0f0f0f0f`, compression: parseCompression('zstd:1'), verify: 'full' as const, workflow: { workflowId: 'w', runId: 'r' } };
      await assert.rejects(new MockActivityEnvironment().run(dumpDatabase, t.config, request), (err: ApplicationFailure) => {
        assert.equal(err.type, 'InvalidInput');
        assert.match(err.message, /^database "pgk_nonchar_.*" holds U\+FFFE, a Unicode noncharacter that S3 listings \(XML\) return changed, so its backups could not be found again; rename the database/);
        return true;
      });
      assert.deepEqual((await keysUnder(t.store, '')).filter((k) => k.startsWith('pgk_nonchar_')), []);
    });

    it('gzip:N (pg_dump\'s own compression) and none write plain .dump archives pg_restore reads directly', async () => {
      await withWorker(env, t.config, async () => {
        for (const compression of ['gzip:6', 'none']) {
          const result = (await backUp({ database: source, compression, verify: 'toc' }, databaseWorkflowId(t.config.temporal.taskQueue, source))) as BackupResult;
          assert.equal(result.archiveKey, `${source}/${result.backupId}.dump`);
          assert.equal(result.compression, compression);
          const manifest = parseManifest((await readObject(t.store, backupKeys(source, result.backupId, []).manifest)).toString(), result.backupId) as BackupManifest;
          assert.equal(manifest.dumpBytes, result.sizeBytes, 'no filter after pg_dump: the archive is what pg_dump wrote');
          await restoresWithPlainTools(await readObject(t.store, result.archiveKey), false);
        }
      });
    });

    it('a table never vacuumed or analyzed, whose rows the statistics have not counted yet, has no row estimate rather than one of 0', async () => {
      const fresh = uniqueName('pgk_fresh');
      copies.push(fresh);
      await createDatabase(t.config, fresh);
      // Rows inserted by a session still open: it reports them to the statistics within seconds, not at once.
      await withClient(t.config, fresh, async (session) => {
        await session.query('create table t (g int)');
        await session.query('insert into t select generate_series(1, 1000)');
        const [table] = await withClient(t.config, fresh, readTableEstimates);
        assert.ok(table!.rowEstimate === null || table!.rowEstimate === 1000, `estimate ${table!.rowEstimate}`);
      });
    });

    it('refuses bad input before doing anything', async () => {
      const before = await keysUnder(t.store, '');
      await withWorker(env, t.config, async () => {
        for (const [input, message] of [
          [{ database: '' }, /database is required/],
          [{ database: 'x'.repeat(64) }, /64 bytes; PostgreSQL names are at most 63/],
          [{ database: '../etc' }, /contains a slash/],
          [{ database: source, compression: 'zstd:42' }, /zstd levels go from 1 to 19/],
          [{ database: source, compresslevel: 9 }, /unknown field "compresslevel" .* did you mean "compressLevel"\?/],
          // A form's empty object: no rule would keep only the newest backup.
          [{ database: source, retention: {} }, /^"retention" has no rule: it would keep only the newest backup and delete the rest; /],
          // Rules of 0 keep nothing of their own: all of them 0 is no rule either.
          [{ database: source, retention: { keepLast: 0, maxAgeDays: 0 } }, /^every rule of "retention" is 0 \(\{"keepLast":0,"maxAgeDays":0\}\): it would keep only the newest backup and delete the rest; /],
        ] as const) {
          await assert.rejects(backUp(input), (err: WorkflowFailedError) => {
            // The workflow's own failure message is the reason: what the Temporal UI shows first.
            assert.match(err.cause!.message, message);
            assert.equal((err.cause as { type?: string }).type, 'InvalidInput');
            return true;
          });
        }
      });
      assert.deepEqual(await keysUnder(t.store, ''), before);
    });

    it('three failed backups in a row delete nothing, however old the existing backups', async () => {
      const gone = uniqueName('pgk_gone'); // has backups in the store, but the database no longer exists
      for (const ageDays of [30, 60, 90]) await writeFakeBackup(t.store, gone, ageDays);
      const before = await keysUnder(t.store, `${gone}/`);
      await withWorker(env, t.config, async () => {
        for (let i = 0; i < 3; i++) await assert.rejects(backUp({ database: gone }), WorkflowFailedError);
      });
      assert.deepEqual(await keysUnder(t.store, `${gone}/`), before);
    });

    it('prune: a dry run plans, a real run deletes what the plan said', async () => {
      const db = uniqueName('pgk_prune');
      const made: BackupManifest[] = [];
      for (const ageDays of [1, 10, 20]) made.push(await writeFakeBackup(t.store, db, ageDays));
      await withWorker(env, t.config, async () => {
        const run = (dryRun: boolean) =>
          env.client.workflow.execute(applyRetention, {
            args: [{ database: db, policy: { maxAgeDays: 15 }, dryRun }],
            taskQueue: t.config.temporal.taskQueue,
            workflowId: databaseWorkflowId(t.config.temporal.taskQueue, db),
          });
        const planned = await run(true);
        assert.equal(planned.status, 'completed');
        const [store] = planned.status === 'completed' ? planned.stores : [];
        assert.equal(store!.store, t.store.url);
        assert.deepEqual(store!.plan.filter((d) => d.action === 'delete').map((d) => d.id), [made[2]!.id]);
        assert.deepEqual(store!.deleted, []);
        assert.equal((await keysUnder(t.store, `${db}/`)).length, 9);
        const applied = await run(false);
        assert.deepEqual(applied.status === 'completed' && applied.stores[0]!.deleted, [made[2]!.id]);
        assert.equal((await keysUnder(t.store, `${db}/`)).length, 6);
      });
    });
  });
}
