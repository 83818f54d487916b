import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { BackupResult } from '../common/types.js';
import { databaseWorkflowId } from '../common/names.js';
import { restoreDatabase } from '../workflows/index.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, databaseExists, dropDatabase, listDatabases, normalizedSchema, seedDatabase, sql, tableFingerprints } from './helpers/postgres.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { rootFailure, runBackup, runRestore } from './helpers/workflows.js';

describe('restoreDatabase workflow', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  const source = uniqueName('pgk_rsrc');
  const created: string[] = [];
  let backup: BackupResult;

  /** A target name that `after` drops, with any kept `_pre_restore_` sibling. */
  const target = (prefix: string) => {
    const name = uniqueName(prefix);
    created.push(name);
    return name;
  };

  const expectRefusal = async (input: Parameters<typeof runRestore>[2], type: string, message: RegExp) => {
    const before = await listDatabases(config);
    const err = await runRestore(env, config, input).catch((e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError, `expected a failed restore, got ${String(err)}`);
    const root = rootFailure(err);
    assert.equal(root.type, type, root.message);
    assert.match(root.message, message);
    assert.deepEqual(await listDatabases(config), before, 'no database was created, renamed or dropped');
  };

  before(async () => {
    env = await startDevServer();
    await seedDatabase(config, source);
    backup = await withWorker(env, config, () => runBackup(env, config, source));
  });
  after(async () => {
    const all = await listDatabases(config);
    for (const name of all.filter((n) => n === source || created.some((c) => n.startsWith(c)))) await dropDatabase(config, name);
    await env?.teardown();
  });

  it('round trip: the latest backup restored under a new name has the same schema and content', async () => {
    const into = target('pgk_restored');
    const result = await withWorker(env, config, () => runRestore(env, config, { backup: 'latest', database: source, target: into }));
    assert.equal(result.status, 'completed');
    assert.equal(result.backup.label, backup.backupId);
    assert.equal(result.backup.checksum, 'verified');
    assert.equal(result.keptPrevious, null);
    assert.equal(result.tables, 3);
    assert.equal(result.rows, 10_000);
    assert.deepEqual(result.warnings, []);
    assert.equal(normalizedSchema(config, into), normalizedSchema(config, source));
    assert.deepEqual(await tableFingerprints(config, into), await tableFingerprints(config, source));
    assert.deepEqual((await listDatabases(config)).filter((n) => n.includes('_restoring_')), [], 'no staging database left');
  });

  it('started from the Temporal UI under any workflow id, the restore runs under the target\'s fixed id', async () => {
    const into = target('pgk_ui');
    const result = await withWorker(env, config, () =>
      env.client.workflow.execute(restoreDatabase, {
        args: [{ backup: 'latest', database: source, target: into }],
        taskQueue: config.temporal.taskQueue,
        workflowId: 'restore-from-the-ui',
      }),
    );
    assert.equal(result.target, into);
    const child = await env.client.workflow.getHandle(databaseWorkflowId(config.temporal.taskQueue, into)).describe();
    assert.equal(child.status.name, 'COMPLETED');
    assert.equal(child.type, 'restoreDatabase');
  });

  it('replace with the right confirm swaps the database in and keeps the previous one', async () => {
    const into = target('pgk_replace');
    await withWorker(env, config, async () => {
      await runRestore(env, config, { backup: backup.backupId, target: into });
      await sql(config, into, `insert into audit.events values (-1, 'written after the backup')`);
      const result = await runRestore(env, config, { backup: backup.backupId, target: into, mode: 'replace', confirm: into, jobs: 3 });
      assert.match(result.keptPrevious!, new RegExp(`^${into}_pre_restore_\\d{14}$`));
      assert.equal(result.jobs, 3);
      assert.deepEqual(await tableFingerprints(config, into), await tableFingerprints(config, source));
      const kept = await sql<{ n: string }>(config, result.keptPrevious!, 'select count(*) as n from audit.events where id = -1');
      assert.equal(kept[0]!.n, '1', 'the previous database is kept, with its own data');
    });
  });

  it('replace without the right confirm is refused before anything changes', async () => {
    const into = target('pgk_confirm');
    await withWorker(env, config, async () => {
      await runRestore(env, config, { backup: backup.backupId, target: into });
      await sql(config, into, `insert into audit.events values (-1, 'must survive')`);
      const before = await tableFingerprints(config, into);
      await expectRefusal({ backup: backup.backupId, target: into, mode: 'replace' }, 'InvalidInput', new RegExp(`set "confirm" to "${into}"`));
      await expectRefusal({ backup: backup.backupId, target: into, mode: 'replace', confirm: 'app' }, 'InvalidInput', /confirm was "app"/);
      assert.deepEqual(await tableFingerprints(config, into), before);
      // create mode into an existing database is refused too
      await expectRefusal({ backup: backup.backupId, target: into }, 'TargetExists', /already exists and mode is "create"/);
    });
  });

  for (const [damage, mutate] of [
    ['one flipped byte', async (file: string) => {
      const handle = await fs.open(file, 'r+');
      const middle = Math.floor((await handle.stat()).size / 2);
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, middle);
      byte[0] = byte[0]! ^ 0xff;
      await handle.write(byte, 0, 1, middle);
      await handle.close();
    }],
    ['truncation', async (file: string) => fs.truncate(file, Math.floor((await fs.stat(file)).size / 2))],
  ] as const) {
    it(`a backup damaged by ${damage} is refused; the target is untouched and no staging database is left`, async () => {
      const damaged = await withWorker(env, config, () => runBackup(env, config, source));
      await mutate(damaged.dumpPath);
      const into = target('pgk_damaged');
      await withWorker(env, config, async () => {
        await runRestore(env, config, { backup: backup.backupId, target: into });
        await sql(config, into, `insert into audit.events values (-1, 'must survive')`);
        const before = await tableFingerprints(config, into);
        await expectRefusal(
          { backup: damaged.backupId, target: into, mode: 'replace', confirm: into },
          'ChecksumMismatch',
          /does not match its manifest .* it is damaged or was changed/,
        );
        assert.deepEqual(await tableFingerprints(config, into), before);
      });
    });
  }

  it('an archive damaged before it was checksummed fails in pg_restore: staging is dropped, the target untouched', async () => {
    const damaged = await withWorker(env, config, () => runBackup(env, config, source));
    const handle = await fs.open(damaged.dumpPath, 'r+');
    const at = Math.floor((await handle.stat()).size / 2);
    await handle.write(Buffer.from('garbage!garbage!'), 0, 16, at);
    await handle.close();
    // Re-seal the manifest so the checksum passes: only pg_restore can notice now.
    const manifest = JSON.parse(await fs.readFile(damaged.manifestPath, 'utf8'));
    manifest.sha256 = createHash('sha256').update(await fs.readFile(damaged.dumpPath)).digest('hex');
    await fs.writeFile(damaged.manifestPath, JSON.stringify(manifest));
    const into = target('pgk_sealed');
    await withWorker(env, config, () =>
      expectRefusal({ backup: damaged.backupId, target: into }, 'RestoreFailed', /pg_restore could not restore .* The target was not touched/),
    );
  });

  it('roles the archive needs but the server lacks are named; noOwner + noPrivileges restores anyway', async () => {
    const owner = uniqueName('pgk_owner');
    const reader = uniqueName('pgk_reader');
    const db = target('pgk_roles');
    await sql(config, 'postgres', `create role ${owner}; create role ${reader}`);
    await createDatabase(config, db);
    await sql(config, db, `create table owned (id int); alter table owned owner to ${owner}; grant select on owned to ${reader}`);
    const rolesBackup = await withWorker(env, config, () => runBackup(env, config, db));
    await dropDatabase(config, db);
    await sql(config, 'postgres', `drop role ${owner}; drop role ${reader}`);
    await withWorker(env, config, async () => {
      await expectRefusal({ backup: rolesBackup.backupId, target: target('pgk_noroles') }, 'RolesMissing', new RegExp(`roles missing on .*: "${owner}", "${reader}"|roles missing on .*: "${reader}", "${owner}"`));
      await expectRefusal({ backup: rolesBackup.backupId, target: target('pgk_noroles'), noOwner: true }, 'RolesMissing', new RegExp(`: "${reader}"\\.`));
      const result = await runRestore(env, config, { backup: rolesBackup.backupId, target: target('pgk_noroles'), noOwner: true, noPrivileges: true });
      assert.equal(result.tables, 1);
    });
  });

  it('a damaged seed-style archive (no manifest) is refused by the read-through', async () => {
    const seedFile = path.join(config.backupDir, `${source}_20261101_020000.dump`);
    await fs.copyFile(backup.dumpPath, seedFile);
    await fs.truncate(seedFile, 4096);
    await withWorker(env, config, () => expectRefusal({ backup: seedFile, target: target('pgk_seedbad') }, 'CorruptArchive', /unreadable/));
  });

  it('a seed-named archive without manifest restores by path, with a warning', async () => {
    await fs.mkdir(path.join(config.backupDir, 'legacy'), { recursive: true });
    const seedFile = path.join(config.backupDir, 'legacy', 'app_20261101_020000.dump');
    await fs.copyFile(backup.dumpPath, seedFile);
    const into = target('pgk_seed');
    const result = await withWorker(env, config, () => runRestore(env, config, { backup: 'legacy/app_20261101_020000.dump', target: into }));
    assert.equal(result.backup.database, 'app', 'database name read from the file name');
    assert.equal(result.backup.checksum, 'skipped');
    assert.match(result.warnings.join('\n'), /no manifest: checksum not verified/);
    assert.deepEqual(await tableFingerprints(config, into), await tableFingerprints(config, source));
  });

  it('hostile names are quoted or rejected, and no other database is touched', async () => {
    const victim = target('v');
    await sql(config, 'postgres', `create database ${victim}`);
    const hostile = `"w'q"; drop database ${victim}; --`;
    created.push(hostile);
    await withWorker(env, config, async () => {
      const result = await runRestore(env, config, { backup: backup.backupId, target: hostile }).catch((e: unknown) => {
        throw rootFailure(e);
      });
      assert.equal(result.target, hostile);
      assert.ok(await databaseExists(config, hostile), 'created under exactly that name');
      assert.ok(await databaseExists(config, victim), 'the database named inside the name still exists');
      assert.deepEqual(await tableFingerprints(config, hostile), await tableFingerprints(config, source));

      await expectRefusal({ backup: backup.backupId, target: 'x'.repeat(64) }, 'InvalidInput', /64 bytes; PostgreSQL names are at most 63/);
      await expectRefusal({ backup: backup.backupId, target: 'y'.repeat(50) }, 'InvalidInput', /pgkeeper needs 19 of them for its own suffix, so use at most 44/);
      await expectRefusal({ backup: backup.backupId, target: 'a/b' }, 'InvalidInput', /contains a slash/);
    });
  });

  it('backup ids and paths that leave BACKUP_DIR are rejected', async () => {
    const outside = path.join(path.dirname(config.backupDir), `${uniqueName('outside')}.dump`);
    await fs.copyFile(backup.dumpPath, outside);
    const link = path.join(config.backupDir, 'link.dump');
    await fs.symlink(outside, link);
    await withWorker(env, config, async () => {
      for (const id of ['../../etc/passwd', '../outside.dump', outside, link, `${source}-20261101T020000Z-../../x`]) {
        await expectRefusal({ backup: id, target: target('pgk_escape') }, 'InvalidInput', /leaves BACKUP_DIR|no file at|not of the form|is not a \.dump archive/);
      }
      // A dump still being written (or left by a crash) is never restored, even by explicit path.
      const partial = `${backup.dumpPath}.partial`;
      await fs.copyFile(backup.dumpPath, partial);
      await expectRefusal({ backup: partial, target: target('pgk_partial') }, 'InvalidInput', /is an unfinished file .* it is never restored/);
      await fs.rm(partial);
    });
    await fs.rm(outside);
  });
});
