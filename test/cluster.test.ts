/**
 * backupCluster on a local store and on S3: globals (roles, tablespaces) in the store's `.globals`
 * folder, pruned by retention like any backup; every database with its own outcome; restores that
 * create only the roles the server lacks, without any temporary file of role password hashes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { applyGlobals } from '../activities/apply-globals.js';
import { completeBackups } from '../activities/store/backup-catalog.js';
import type { BackupStore } from '../activities/store/store.js';
import { backupKeys, GLOBALS_FOLDER } from '../common/backup-keys.js';
import { scriptForMissing } from '../common/globals-script.js';
import type { ClusterResult } from '../common/types.js';
import { backupCluster } from '../workflows/index.js';
import { tablespaceDirectory } from './helpers/cluster.js';
import { uniqueName } from './helpers/config.js';
import { writeFakeGlobals } from './helpers/fake-backups.js';
import { createDatabase, dropDatabase, listDatabases, quoteIdent, seedDatabase, sql } from './helpers/postgres.js';
import { flipByte, keysUnder, readObject, STORE_KINDS, storeUnderTest, type StoreUnderTest } from './helpers/stores.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';
import { rootFailure, runRestore } from './helpers/workflows.js';

/** Ids of the complete (manifest-bearing) globals backups in the store. */
async function globalsIds(store: BackupStore): Promise<string[]> {
  return (await keysUnder(store, `${GLOBALS_FOLDER}/`)).filter((k) => k.endsWith('.manifest.json')).map((k) => path.basename(k, '.manifest.json'));
}

for (const kind of STORE_KINDS) {
  describe(`backupCluster workflow and globals (${kind} store)`, () => {
    let env: TestWorkflowEnvironment;
    let t: StoreUnderTest;
    const prefix = uniqueName('pgk_cl');
    const role = uniqueName('pgk_globrole');
    const rolesToDrop = new Set<string>([role]);
    // One the restore finds there, changed since the backup; one it finds gone.
    const [liveSpace, goneSpace] = [`${prefix}_ts_live`, `${prefix}_ts_gone`];

    const runCluster = (include: string[]) =>
      env.client.workflow.execute(backupCluster, { args: [{ include, concurrency: 2 }], taskQueue: t.config.temporal.taskQueue, workflowId: uniqueName('cluster') });

    before(async () => {
      t = await storeUnderTest(kind);
      env = await startDevServer();
      await sql(t.config, 'postgres', `create role ${role} login`);
      await seedDatabase(t.config, `${prefix}_a`);
      await createDatabase(t.config, `${prefix}_b`);
      await sql(t.config, `${prefix}_b`, `create table owned (id int primary key); insert into owned values (1), (2); alter table owned owner to ${role}`);
      await createDatabase(t.config, `${prefix}_c`);
      await sql(t.config, 'postgres', `alter database ${prefix}_c allow_connections false`); // cannot be dumped
      for (const space of [liveSpace, goneSpace]) {
        await sql(t.config, 'postgres', `create tablespace ${space} location '${tablespaceDirectory(space)}' with (seq_page_cost = 2)`);
        await sql(t.config, 'postgres', `comment on tablespace ${space} is 'as backed up'`);
      }
    });
    after(async () => {
      for (const name of (await listDatabases(t.config)).filter((n) => n.startsWith(prefix))) {
        await sql(t.config, 'postgres', `alter database ${quoteIdent(name)} allow_connections true`);
        await dropDatabase(t.config, name);
      }
      for (const r of rolesToDrop) await sql(t.config, 'postgres', `drop role if exists ${quoteIdent(r)}`);
      for (const space of [liveSpace, goneSpace]) await sql(t.config, 'postgres', `drop tablespace if exists ${space}`);
      await env?.teardown();
      await t?.stop();
    });

    it('backs up the globals into .globals/ and every database, reports each outcome, and fails only at the end', async () => {
      const err = await withWorker(env, t.config, () => runCluster([`${prefix}_*`]).catch((e: unknown) => e));
      assert.ok(err instanceof WorkflowFailedError, String(err));
      const failure = rootFailure(err) as Error & { type?: string; details?: unknown[] };
      assert.equal(failure.type, 'ClusterBackupFailed');
      assert.match(failure.message, new RegExp(`1 of 4 parts failed: ${prefix}_c \\(database "${prefix}_c" does not accept connections`));
      const result = failure.details![0] as ClusterResult;
      assert.deepEqual(
        result.databases.map((d) => `${d.database}:${d.status}`),
        [`${prefix}_a:completed`, `${prefix}_b:completed`, `${prefix}_c:failed`],
      );
      for (const done of result.databases.filter((d) => d.status === 'completed')) {
        assert.ok((await keysUnder(t.store, `${done.database}/`)).includes(`${done.database}/${done.backupId}.manifest.json`));
      }

      assert.equal(result.globals.status, 'completed');
      assert.equal(result.globals.encrypted, false);
      const keys = backupKeys(GLOBALS_FOLDER, result.globals.id!, []);
      assert.deepEqual(await keysUnder(t.store, `${GLOBALS_FOLDER}/`), [keys.archive, keys.manifest, keys.sidecar].sort());
      const script = await readObject(t.store, keys.archive);
      assert.match(script.toString(), new RegExp(`CREATE ROLE ${role};`));
      // The sidecar checks the script wherever the store was copied to, with coreutils alone.
      const dir = tempDir('globals');
      writeFileSync(path.join(dir, path.basename(keys.archive)), script);
      writeFileSync(path.join(dir, path.basename(keys.sidecar)), await readObject(t.store, keys.sidecar));
      execFileSync('sha256sum', ['-c', path.basename(keys.sidecar)], { cwd: dir });
    });

    it('a pattern that matches no database fails at once, naming the patterns and the databases there, and backs up nothing (globals included)', async () => {
      const before = await globalsIds(t.store);
      const err = await withWorker(env, t.config, () => runCluster([`${prefix}_typo*`]).catch((e: unknown) => e));
      assert.ok(err instanceof WorkflowFailedError, String(err));
      const cause = rootFailure(err) as Error & { type?: string };
      assert.equal(cause.type, 'InvalidInput');
      assert.match(cause.message, new RegExp(`^no database to back up: include "${prefix}_typo\\*" leaves none of the databases on [^;]*; nothing was backed up`));
      assert.deepEqual(await globalsIds(t.store), before);
    });

    it('retention prunes old globals backups (role password hashes) like any other backup', async () => {
      const old: string[] = [];
      for (const ageDays of [30, 60, 90]) old.push(await writeFakeGlobals(t.store, ageDays));
      const before = await globalsIds(t.store);
      assert.ok(old.every((id) => before.includes(id)));
      const result = await withWorker(env, t.config, () => runCluster([`${prefix}_a`]));
      assert.equal(result.status, 'completed');
      const after = await globalsIds(t.store);
      // RETENTION_DAYS (7) keeps the recent ones: the earlier run's and this run's.
      assert.deepEqual(after, before.filter((id) => !old.includes(id)).concat(result.globals.id!).sort());
      for (const id of old) assert.deepEqual(await keysUnder(t.store, `${GLOBALS_FOLDER}/${id}`), [], `${id} is gone, every object of it`);
    });

    it('a damaged globals backup asked for is named DAMAGED with the reason, not "not found"', async () => {
      const id = await writeFakeGlobals(t.store, 2);
      await t.store.put(backupKeys(GLOBALS_FOLDER, id, []).archive, 'cut'); // another size than its manifest says
      await assert.rejects(applyGlobals(t.config, { globals: id }), (err: Error & { type?: string }) => {
        assert.match(err.message, new RegExp(`^globals backup "${id}" is DAMAGED \\(${id}: archive ${id}\\.sql is 3 bytes, its manifest says \\d+ in ${t.store.url.replace(/[/.]/g, '\\$&')}\\); \`pgkeeper backups\` lists the globals backups`));
        return true;
      });
      await assert.rejects(applyGlobals(t.config, { globals: 'globals-20200101T000000Z-00000000' }), (err: Error) =>
        /^no globals backup "globals-20200101T000000Z-00000000" in .*; run `pgkeeper backup --all` to make one$/.test(err.message),
      );
      // Given where a database backup goes: said what it is and how it is applied, not "in none of the stores".
      const intact = await writeFakeGlobals(t.store, 3);
      const asBackup = await withWorker(env, t.config, () => runRestore(env, t.config, { backup: intact, target: uniqueName('pgk_gl_as_db') }).then(() => undefined, rootFailure));
      assert.equal(asBackup?.type, 'InvalidInput');
      assert.match(asBackup?.message ?? '', new RegExp(`^${intact} is a globals backup \\(roles and tablespaces\\), not a database backup: a restore applies it with --globals ${intact} `));

      // The newest written by a newer pgkeeper: upgrade, before older roles are applied in its place.
      const newer = await writeFakeGlobals(t.store, 0);
      const manifestKey = backupKeys(GLOBALS_FOLDER, newer, []).manifest;
      await t.store.put(manifestKey, JSON.stringify({ ...JSON.parse((await readObject(t.store, manifestKey)).toString()), manifestVersion: 3 }));
      try {
        await assert.rejects(applyGlobals(t.config, { globals: 'latest' }), (err: Error & { type?: string }) => {
          assert.equal(err.type, 'UnknownFilter');
          assert.match(err.message, new RegExp(`^the newest globals backup, ${newer}, was written by a newer pgkeeper \\(manifestVersion 3; this one reads up to 2\\): upgrade pgkeeper on the worker to read it; or give the older globals-\\S+ \\(--globals globals-\\S+\\), which may lack roles made since$`));
          return true;
        });
      } finally {
        for (const key of await keysUnder(t.store, `${GLOBALS_FOLDER}/${newer}`)) await t.store.delete(key);
      }
    });

    it('restore onto a server whose role and tablespace were dropped: refused without globals, and with globals only the missing ones are created, the live tablespace left as it is now; two at once both work', async () => {
      await dropDatabase(t.config, `${prefix}_b`);
      await sql(t.config, 'postgres', `drop role ${role}`);
      await sql(t.config, 'postgres', `drop tablespace ${goneSpace}`);
      await sql(t.config, 'postgres', `alter tablespace ${liveSpace} set (seq_page_cost = 3)`);
      await sql(t.config, 'postgres', `comment on tablespace ${liveSpace} is 'changed since'`);
      const targets = [`${prefix}_b_one`, `${prefix}_b_two`];
      const existing = (await sql<{ rolname: string }>(t.config, 'postgres', 'select rolname from pg_roles')).map((r) => r.rolname);
      await withWorker(env, t.config, async () => {
        const refused = await runRestore(env, t.config, { backup: 'latest', database: `${prefix}_b`, target: targets[0]! }).catch((e: unknown) => e);
        assert.match(rootFailure(refused).message, new RegExp(`roles missing on .*"${role}"`));

        // Two restores applying the same globals at the same time on one worker: no shared
        // temporary file (the script is fed to psql on its stdin), so neither breaks the other.
        const results = await Promise.all(targets.map((target) => runRestore(env, t.config, { backup: 'latest', database: `${prefix}_b`, target, globals: 'latest' })));
        const created = results.flatMap((r) => r.globals!.created);
        for (const name of created) rolesToDrop.add(name);
        assert.ok(created.includes(role), `created: ${created.join(', ')}`);
        assert.deepEqual(created.filter((name) => existing.includes(name)), [], 'existing roles (the superuser the backup ran as included) are left alone');
        assert.deepEqual([...new Set(results.flatMap((r) => r.globals!.tablespaces))], [goneSpace]);
        const warnings = results.flatMap((r) => r.warnings).filter((w) => w.includes(liveSpace));
        assert.deepEqual(warnings, [], 'the live tablespace is not created again');
      });
      const spaces = await sql<{ name: string; options: string[]; comment: string }>(
        t.config,
        'postgres',
        `select spcname as name, spcoptions as options, shobj_description(oid, 'pg_tablespace') as comment from pg_tablespace where spcname in ('${liveSpace}', '${goneSpace}') order by spcname`,
      );
      assert.deepEqual(spaces, [
        { name: goneSpace, options: ['seq_page_cost=2'], comment: 'as backed up' },
        { name: liveSpace, options: ['seq_page_cost=3'], comment: 'changed since' },
      ]);
      for (const target of targets) {
        const [row] = await sql<{ owner: string; n: string }>(t.config, target, `select tableowner as owner, (select count(*) from owned) as n from pg_tables where tablename = 'owned'`);
        assert.deepEqual(row, { owner: role, n: '2' }, target);
      }
    });

    it('a restore that fails after its globals made a role (its archive damaged): the failure names the role left on the server', async () => {
      const targets = [`${prefix}_b_one`, `${prefix}_b_two`];
      for (const target of targets) await dropDatabase(t.config, target); // what the role owns, so it can go
      await sql(t.config, 'postgres', `drop role ${role}`);
      const [newest] = await completeBackups(t.store, `${prefix}_b`);
      await flipByte(t.store, backupKeys(`${prefix}_b`, newest!.id, newest!.manifest.filters).archive);
      const err = await withWorker(env, t.config, () => runRestore(env, t.config, { backup: newest!.id, target: `${prefix}_b_three`, globals: 'latest' }).catch((e: unknown) => e));
      assert.ok(err instanceof WorkflowFailedError, String(err));
      assert.match(err.cause!.message, new RegExp(`\\. Globals backup globals-\\S+ made roles "${role}"( and tablespaces [^;]*)? for this restore first; they stay on the server \\(drop them if they are not wanted\\)$`));
      assert.match(rootFailure(err).type ?? '', /^(ChecksumMismatch|CorruptArchive)$/, 'the cause keeps its type');
      assert.equal((await sql(t.config, 'postgres', `select 1 from pg_roles where rolname = '${role}'`)).length, 1, 'the role is there, as said');
    });
  });
}

describe('globals script', () => {
  it('applying globals never changes an existing role: its ALTER ROLE and memberships are left out', () => {
    const script = [
      'CREATE ROLE app;',
      "ALTER ROLE app WITH LOGIN PASSWORD 'SCRAM-SHA-256$x';",
      'CREATE ROLE postgres;',
      'ALTER ROLE postgres WITH SUPERUSER;',
      'CREATE ROLE "We ird";',
      'GRANT pg_read_all_data TO app GRANTED BY postgres;',
      'GRANT app TO postgres GRANTED BY postgres;',
      'GRANT app TO "We ird";',
    ].join('\n');
    const { script: kept, created } = scriptForMissing(script, { roles: new Set(['postgres', 'pg_read_all_data']), tablespaces: new Set() });
    assert.deepEqual(created, ['We ird', 'app']);
    assert.deepEqual(kept.trimEnd().split('\n'), [
      'CREATE ROLE app;',
      "ALTER ROLE app WITH LOGIN PASSWORD 'SCRAM-SHA-256$x';",
      'CREATE ROLE "We ird";',
      'GRANT pg_read_all_data TO app GRANTED BY postgres;',
      'GRANT app TO "We ird";',
    ]);
  });

  it('applying globals never changes an existing tablespace: its CREATE, ALTER, comment, security label and the privileges of existing roles on it are left out; privileges that involve a new role or tablespace are kept', () => {
    const script = [
      "CREATE TABLESPACE fast OWNER postgres LOCATION '/srv/fast';",
      'ALTER TABLESPACE fast SET (seq_page_cost=1.1);',
      "COMMENT ON TABLESPACE fast IS 'ssd';",
      "SECURITY LABEL FOR selinux ON TABLESPACE fast IS 'x';",
      'GRANT ALL ON TABLESPACE fast TO app;',
      'GRANT CREATE ON TABLESPACE fast TO postgres;',
      'REVOKE ALL ON TABLESPACE fast FROM postgres;', // pg_dumpall 15, for an owner whose privileges were changed
      'REVOKE ALL ON TABLESPACE fast FROM app;',
      "CREATE TABLESPACE \"Slow\" OWNER app LOCATION '/srv/slow';",
      "COMMENT ON TABLESPACE \"Slow\" IS 'hdd';",
      'GRANT ALL ON TABLESPACE "Slow" TO postgres;',
    ].join('\n');
    const { script: kept, tablespaces } = scriptForMissing(script, { roles: new Set(['postgres']), tablespaces: new Set(['fast']) });
    assert.deepEqual(tablespaces, ['Slow']);
    assert.deepEqual(kept.trimEnd().split('\n'), [
      'GRANT ALL ON TABLESPACE fast TO app;',
      'REVOKE ALL ON TABLESPACE fast FROM app;',
      "CREATE TABLESPACE \"Slow\" OWNER app LOCATION '/srv/slow';",
      "COMMENT ON TABLESPACE \"Slow\" IS 'hdd';",
      'GRANT ALL ON TABLESPACE "Slow" TO postgres;',
    ]);
  });

  it('a role name holding a semicolon or a comment stays one name; a script holding what pg_dumpall does not write is refused whole', () => {
    const odd = ';ALTER ROLE atk SUPERUSER;-- x';
    const quoted = `"${odd}"`;
    const script = [
      '--',
      '-- PostgreSQL database cluster dump',
      '--',
      '',
      '\\restrict abc123',
      'SET standard_conforming_strings = on;',
      `CREATE ROLE ${quoted};`,
      `ALTER ROLE ${quoted} WITH NOSUPERUSER;`,
      "COMMENT ON ROLE app IS 'it is -- not a comment; nor the end';",
      'CREATE ROLE "new"; ALTER ROLE "new" WITH LOGIN;',
      'GRANT SET ON PARAMETER work_mem TO app;',
      'GRANT pg_monitor TO "new", app WITH ADMIN OPTION;',
      'GRANT pg_monitor TO granted GRANTED BY postgres;', // a role may be called "granted"
      '\\unrestrict abc123',
    ].join('\n');
    const { script: kept, created } = scriptForMissing(script, { roles: new Set(['app', 'atk', 'pg_monitor', 'granted']), tablespaces: new Set() });
    assert.deepEqual(created, [odd, 'new']);
    assert.equal(kept, ['\\restrict abc123', 'SET standard_conforming_strings = on;', `CREATE ROLE ${quoted};`, `ALTER ROLE ${quoted} WITH NOSUPERUSER;`, 'CREATE ROLE "new";', 'ALTER ROLE "new" WITH LOGIN;', '\\unrestrict abc123', ''].join('\n'));
    // A line break in a role name let older pg_dumpall versions' comments end early, the rest run as SQL.
    for (const [evil, refused] of [
      ['CREATE ROLE "x\nALTER ROLE app z";', /creates a role whose name holds a line break/],
      ['-- User Config "x\nALTER USER victim SUPERUSER;', /a statement pg_dumpall does not write \("ALTER USER victim SUPERUSER;"/],
      ["-- User Config \"x\nSELECT 1 \\! id > /tmp/pwned\n;--\"", /a backslash outside quotes/],
      ['DO $$ begin perform 1; end $$;', /a statement pg_dumpall does not write/],
      ['-- User Config "x\n\\! id\n', /a psql command pg_dumpall does not write \("\\\\! id"\)/],
      ['CREATE ROLE "unclosed;\n', /a quote that never closes/],
    ] as const) {
      assert.throws(() => scriptForMissing(evil, { roles: new Set(['app', 'victim']), tablespaces: new Set() }), refused, evil);
    }
  });
});
