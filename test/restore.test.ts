/**
 * restoreDatabase end to end, on a local store and on S3: staging, validation, swap; the database's
 * own properties; damaged and wrong archives refused before the target is touched.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { backupKeys } from '../common/backup-keys.js';
import type { BackupManifest } from '../common/manifest.js';
import { databaseWorkflowId } from '../common/names.js';
import { keptName } from '../common/restore-input.js';
import { shellWord } from '../common/shell-word.js';
import type { BackupResult } from '../common/types.js';
import { backupDatabase, restoreDatabase } from '../workflows/index.js';
import { pgTool, pgToolEnv, tablespaceDirectory } from './helpers/cluster.js';
import { backupDir, uniqueName } from './helpers/config.js';
import { createDatabase, databaseExists, databaseProperties, dropDatabase, listDatabases, normalizedSchema, seedDatabase, sql, tableFingerprints } from './helpers/postgres.js';
import { readObject, STORE_KINDS, storeUnderTest, type StoreUnderTest } from './helpers/stores.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';
import { rootFailure, runBackup, runRestore } from './helpers/workflows.js';

for (const kind of STORE_KINDS) {
  describe(`restoreDatabase workflow (${kind} store)`, () => {
    let env: TestWorkflowEnvironment;
    let t: StoreUnderTest;
    const source = uniqueName('pgk_rsrc');
    const created: string[] = [];
    const roles: string[] = [];
    const scratch = tempDir('scratch');
    let backup: BackupResult;

    /** A target name that `after` drops, with any kept `_pre_restore_` sibling. */
    const target = (prefix: string) => {
      const name = uniqueName(prefix);
      created.push(name);
      return name;
    };

    const expectRefusal = async (input: Parameters<typeof runRestore>[2], type: string | RegExp, message: RegExp) => {
      const before = await listDatabases(t.config);
      const err = await runRestore(env, t.config, input).catch((e: unknown) => e);
      assert.ok(err instanceof WorkflowFailedError, `expected a failed restore, got ${JSON.stringify(err)}`);
      // What the Temporal UI shows first: the workflow's own failure message is the root cause.
      assert.match(err.cause!.message, message);
      const root = rootFailure(err);
      assert.match(root.type ?? '', typeof type === 'string' ? new RegExp(`^${type}$`) : type, root.message);
      // A refusal the CLI words in flags carries the problem apart: the message up to the worker's fix.
      const problem = (err.cause as { details?: { problem?: string }[] }).details?.[0]?.problem;
      if (['RolesMissing', 'TargetExists'].includes(root.type ?? '')) assert.ok(problem && err.cause!.message.startsWith(problem) && problem.length < err.cause!.message.length, `problem ${problem} of ${err.cause!.message}`);
      assert.deepEqual(await listDatabases(t.config), before, 'no database was created, renamed or dropped');
      assert.deepEqual(await fs.readdir(scratch), [], 'nothing left in SCRATCH_DIR');
    };

    /** Replaces a stored object's bytes, as damage on the disk or in the bucket would. */
    const damage = async (key: string, mutate: (bytes: Buffer) => Buffer) => t.store.put(key, mutate(await readObject(t.store, key)));

    before(async () => {
      t = await storeUnderTest(kind, { SCRATCH_DIR: scratch });
      env = await startDevServer();
      await seedDatabase(t.config, source);
      backup = await withWorker(env, t.config, () => runBackup(env, t.config, source));
    });
    after(async () => {
      const all = await listDatabases(t.config);
      for (const name of all.filter((n) => n === source || created.some((c) => n.startsWith(c)))) await dropDatabase(t.config, name);
      for (const role of roles) await sql(t.config, 'postgres', `drop role if exists ${role}`);
      await env?.teardown();
      await t?.stop();
    });

    it('round trip: the latest backup restored under a new name has the same schema and content', async () => {
      const into = target('pgk_restored');
      const result = await withWorker(env, t.config, () => runRestore(env, t.config, { backup: 'latest', database: source, target: into }));
      assert.equal(result.status, 'completed');
      assert.deepEqual(result.backup, { label: backup.backupId, database: source, store: t.store.url, checksum: 'verified' });
      assert.equal(result.keptPrevious, null);
      assert.equal(result.tables, 3);
      assert.equal(result.rows, 10_000);
      assert.deepEqual(result.warnings, []);
      assert.equal(normalizedSchema(t.config, into), normalizedSchema(t.config, source));
      assert.deepEqual(await tableFingerprints(t.config, into), await tableFingerprints(t.config, source));
      assert.deepEqual((await listDatabases(t.config)).filter((n) => n.includes('_restoring_')), [], 'no staging database left');
      assert.deepEqual(await fs.readdir(scratch), [], 'the scratch file is gone');
    });

    it('a .sha256 sidecar that disagrees with its verified archive: the restore goes on, with a warning naming the sidecar', async () => {
      const sidecar = `${backup.archiveKey}.sha256`;
      const original = await readObject(t.store, sidecar);
      await damage(sidecar, (bytes) => Buffer.from(bytes.toString().replace(/^./, (c) => (c === '0' ? '1' : '0'))));
      try {
        const into = target('pgk_sidecar');
        const result = await withWorker(env, t.config, () => runRestore(env, t.config, { backup: backup.backupId, target: into }));
        assert.equal(result.backup.checksum, 'verified');
        assert.deepEqual(result.warnings, [
          `${sidecar} in ${t.store.url} disagrees with its archive, which matches its manifest: \`sha256sum -c\` would report damage there is none of; ` +
            `write it again (sha256sum ${path.posix.basename(backup.archiveKey)} > ${path.posix.basename(sidecar)}, in the backup's folder)`,
        ]);
      } finally {
        await t.store.put(sidecar, original);
      }
    });

    it('the database\'s owner, privileges, settings, per-role settings, comment and locale come back; noOwner/noPrivileges leave theirs out', async () => {
      const owner = uniqueName('pgk_dbowner');
      const reader = uniqueName('pgk_dbreader');
      roles.push(owner, reader);
      const db = target('pgk_props');
      await sql(t.config, 'postgres', `create role ${owner}; create role ${reader}`);
      await sql(t.config, 'postgres', `create database ${db} owner ${owner} template template0 encoding 'UTF8' locale_provider icu icu_locale 'de-DE' lc_collate 'C' lc_ctype 'C'`);
      await sql(t.config, 'postgres', `revoke connect on database ${db} from public`);
      await sql(t.config, 'postgres', `grant connect, create on database ${db} to ${reader}`);
      await sql(t.config, 'postgres', `alter database ${db} set work_mem = '7MB'`);
      await sql(t.config, 'postgres', `alter database ${db} set search_path = app, "$user", public`);
      await sql(t.config, 'postgres', `alter role ${reader} in database ${db} set search_path = reports, public`);
      await sql(t.config, 'postgres', `alter database ${db} connection limit 42`);
      await sql(t.config, 'postgres', `comment on database ${db} is 'the app''s data'`);
      await sql(t.config, db, `create table t (id int); insert into t values (1)`);
      const want = await databaseProperties(t.config, db);
      assert.equal(want.datlocprovider, 'i', 'the source really uses ICU');
      await withWorker(env, t.config, async () => {
        const made = await runBackup(env, t.config, db);
        const into = target('pgk_props_back');
        await runRestore(env, t.config, { backup: made.backupId, target: into });
        assert.deepEqual(await databaseProperties(t.config, into), want);

        const bare = target('pgk_props_bare');
        await runRestore(env, t.config, { backup: made.backupId, target: bare, noOwner: true, noPrivileges: true });
        const got = await databaseProperties(t.config, bare);
        assert.equal(got.owner, t.config.db.user, 'noOwner: the database belongs to DB_USER');
        assert.ok((got.grants as string[]).includes('PUBLIC:CONNECT:false'), 'noPrivileges: the default privileges (PUBLIC may connect)');
        assert.deepEqual(got.settings, want.settings, 'settings are not privileges: they are restored');

        // A role the database's properties need, missing on the server: named before anything is created.
        for (const name of [db, into, bare]) await dropDatabase(t.config, name);
        await sql(t.config, 'postgres', `drop role ${reader}`);
        await expectRefusal({ backup: made.backupId, target: target('pgk_props_norole'), noOwner: true }, 'RolesMissing', new RegExp(`roles missing on .*: "${reader}"`));
        // Without owner and privileges no role is asked for: the per-role settings of the missing one are left out, and said.
        const roleless = target('pgk_props_roleless');
        const result = await runRestore(env, t.config, { backup: made.backupId, target: roleless, noOwner: true, noPrivileges: true });
        assert.deepEqual(
          result.warnings.filter((w) => /settings for role/.test(w)),
          // The setting's name, not its value (which may be a secret).
          [`the source's settings for role "${reader}" in the database (search_path) were left out: no such role on ${t.config.db.host}:${t.config.db.port}; create it and set them with ALTER ROLE … IN DATABASE … SET (the manifest holds their values), or restore a globals backup first`],
        );
        const others = (want.settings as string[]).filter((line) => !line.startsWith(`${reader}:`));
        assert.notDeepEqual(others, want.settings, 'the source had settings for the role');
        assert.deepEqual((await databaseProperties(t.config, roleless)).settings, others, 'every other setting is restored');
      });
    });

    it("a database's statement_timeout, which its restored copy inherits, does not reach pgkeeper's own sessions: backup, restore and exact row counts succeed", async () => {
      const db = target('pgk_timeout');
      await createDatabase(t.config, db);
      // Counting a million rows takes tens of milliseconds however fast the machine: the timeout always bites.
      await sql(t.config, db, `create table big as select g as id from generate_series(1, 1000000) g`);
      await sql(t.config, 'postgres', `alter database ${db} set statement_timeout = '5ms'`);
      await assert.rejects(sql(t.config, db, 'select count(*) from big'), /statement timeout/, 'the timeout bites an ordinary session');
      await withWorker(env, t.config, async () => {
        const made = await runBackup(env, t.config, db);
        const into = target('pgk_timeout_back');
        const result = await runRestore(env, t.config, { backup: made.backupId, target: into });
        assert.equal(result.rows, 1000000);
        assert.deepEqual((await databaseProperties(t.config, into)).settings, ['(database): statement_timeout=5ms'], 'the setting itself is restored');
      });
    });

    it('a locale the server cannot provide is refused with one line before the target is touched', async () => {
      const id = `${source}-20261101T010101Z-0c0c0c0c`;
      const keys = backupKeys(source, id, [{ filter: 'zstd', level: 1 }]);
      const manifest = JSON.parse((await readObject(t.store, `${source}/${backup.backupId}.manifest.json`)).toString()) as BackupManifest;
      await t.store.put(keys.archive, await readObject(t.store, backup.archiveKey));
      await t.store.put(
        keys.manifest,
        JSON.stringify({ ...manifest, id, files: [{ ...manifest.files[0]!, name: path.basename(keys.archive) }], databaseProperties: { ...manifest.databaseProperties!, collate: 'xx_NOWHERE.UTF-8', ctype: 'xx_NOWHERE.UTF-8' } }),
      );
      await withWorker(env, t.config, () =>
        expectRefusal({ backup: id, target: target('pgk_locale') }, 'LocaleUnavailable', /cannot create a database like the backup's \(encoding UTF8, LC_COLLATE "xx_NOWHERE.UTF-8".*Install that locale/),
      );
      for (const key of Object.values(keys).filter((k): k is string => typeof k === 'string' && k.includes(id))) await t.store.delete(key);
    });

    it('started from the Temporal UI under any workflow id, the restore runs under the target\'s fixed id', async () => {
      const into = target('pgk_ui');
      const result = await withWorker(env, t.config, () =>
        env.client.workflow.execute(restoreDatabase, {
          args: [{ backup: 'latest', database: source, target: into }],
          taskQueue: t.config.temporal.taskQueue,
          workflowId: uniqueName('restore-from-the-ui'),
        }),
      );
      assert.equal(result.target, into);
      const child = await env.client.workflow.getHandle(databaseWorkflowId(t.config.temporal.taskQueue, into)).describe();
      assert.equal(child.status.name, 'COMPLETED');
      assert.equal(child.type, 'restoreDatabase');
    });

    it('replace with the right confirm swaps the database in and keeps the previous one; without it nothing changes', async () => {
      const into = target('pgk_replace');
      await withWorker(env, t.config, async () => {
        await runRestore(env, t.config, { backup: backup.backupId, target: into });
        await sql(t.config, into, `insert into audit.events values (-1, 'written after the backup')`);
        const before = await tableFingerprints(t.config, into);
        await expectRefusal({ backup: backup.backupId, target: into, mode: 'replace' }, 'InvalidInput', new RegExp(`add "confirm": "${into}" to proceed`));
        await expectRefusal({ backup: backup.backupId, target: into, mode: 'replace', confirm: 'app' }, 'InvalidInput', /confirm was "app"/);
        await expectRefusal({ backup: backup.backupId, target: into }, 'TargetExists', /already exists and the restore would create it/);
        assert.deepEqual(await tableFingerprints(t.config, into), before);

        const result = await runRestore(env, t.config, { backup: backup.backupId, target: into, mode: 'replace', confirm: into, jobs: 3 });
        assert.match(result.keptPrevious!, new RegExp(`^${into}_pre_restore_\\d{14}$`));
        assert.equal(result.jobs, 3);
        assert.deepEqual(await tableFingerprints(t.config, into), await tableFingerprints(t.config, source));
        const kept = await sql<{ n: string }>(t.config, result.keptPrevious!, 'select count(*) as n from audit.events where id = -1');
        assert.equal(kept[0]!.n, '1', 'the previous database is kept, with its own data');

        // The pre-restore names of the next seconds already taken (by hand, or by a replace a moment
        // before): the previous database is kept under the next free one, and the others are left alone.
        const fromMs = Date.now();
        const taken = Array.from({ length: 10 }, (_, i) => keptName(into, fromMs + i * 1000)).filter((name) => name !== result.keptPrevious);
        for (const name of taken) await createDatabase(t.config, name);
        const again = await runRestore(env, t.config, { backup: backup.backupId, target: into, mode: 'replace', confirm: into });
        assert.match(again.keptPrevious!, new RegExp(`^${into}_pre_restore_\\d{14}$`));
        assert.ok(![...taken, result.keptPrevious].includes(again.keptPrevious!), `kept under a free name: ${again.keptPrevious}`);
        for (const name of taken) assert.deepEqual(await sql(t.config, name, 'select 1 as one from pg_class where relname = $1', ['events']), [], `${name} untouched`);
        assert.deepEqual(await tableFingerprints(t.config, into), await tableFingerprints(t.config, source));
      });
    });

    for (const [what, mutate, type, message] of [
      ['one flipped byte', (b: Buffer) => Buffer.from(b.map((x, i) => (i === b.length >> 1 ? x ^ 0xff : x))), /^(ChecksumMismatch|CorruptArchive)$/, /damaged or was changed/],
      ['truncation', (b: Buffer) => b.subarray(0, b.length >> 1), 'BackupDamaged', /is DAMAGED \(archive .* is \d+ bytes, its manifest says \d+/],
    ] as const) {
      it(`a backup damaged by ${what} is refused; the target is untouched, no staging database, nothing in scratch`, async () => {
        await withWorker(env, t.config, async () => {
          const damaged = await runBackup(env, t.config, source);
          await damage(damaged.archiveKey, mutate);
          const into = target('pgk_damaged');
          await runRestore(env, t.config, { backup: backup.backupId, target: into });
          await sql(t.config, into, `insert into audit.events values (-1, 'must survive')`);
          const before = await tableFingerprints(t.config, into);
          await expectRefusal({ backup: damaged.backupId, target: into, mode: 'replace', confirm: into }, type, message);
          assert.deepEqual(await tableFingerprints(t.config, into), before);
          await t.store.delete(damaged.archiveKey); // leave "latest" intact for the other tests
          await t.store.delete(`${source}/${damaged.backupId}.manifest.json`);
        });
      });
    }

    it('an archive damaged before it was checksummed fails in pg_restore: staging is dropped, the target untouched', async () => {
      await withWorker(env, t.config, async () => {
        const damaged = (await env.client.workflow.execute(backupDatabase, {
          // gzip inside the archive: garbage breaks a compressed block, which pg_restore notices (in
          // an uncompressed archive it could land inside a text value and restore "successfully").
          args: [{ database: source, compression: 'gzip:1', verify: 'toc' }],
          taskQueue: t.config.temporal.taskQueue,
          workflowId: databaseWorkflowId(t.config.temporal.taskQueue, source),
        })) as BackupResult;
        // Garbage in the middle, then the sidecar and manifest re-sealed: only pg_restore can notice now.
        await damage(damaged.archiveKey, (b) => Buffer.concat([b.subarray(0, b.length >> 1), Buffer.from('garbage!garbage!'), b.subarray((b.length >> 1) + 16)]));
        const bytes = await readObject(t.store, damaged.archiveKey);
        const manifestKey = `${source}/${damaged.backupId}.manifest.json`;
        const manifest = JSON.parse((await readObject(t.store, manifestKey)).toString()) as BackupManifest;
        manifest.files[0]!.sha256 = createHash('sha256').update(bytes).digest('hex');
        await t.store.put(manifestKey, JSON.stringify(manifest));
        await expectRefusal({ backup: damaged.backupId, target: target('pgk_sealed') }, /^(RestoreFailed|CorruptArchive)$/, /could not restore .* The target was not touched|not a readable pg_dump archive/);
        await t.store.delete(damaged.archiveKey);
        await t.store.delete(manifestKey);
      });
    });

    it('a zstd archive whose bad bytes its manifest was changed to match: refused as damaged after a second try, not retried as a tool fault', async () => {
      await withWorker(env, t.config, async () => {
        const sealed = await runBackup(env, t.config, source);
        await damage(sealed.archiveKey, (b) => Buffer.from(b.map((x, i) => (i === b.length >> 1 ? x ^ 0xff : x))));
        const manifestKey = `${source}/${sealed.backupId}.manifest.json`;
        const manifest = JSON.parse((await readObject(t.store, manifestKey)).toString()) as BackupManifest;
        manifest.files[0]!.sha256 = createHash('sha256').update(await readObject(t.store, sealed.archiveKey)).digest('hex');
        await t.store.put(manifestKey, JSON.stringify(manifest));
        await expectRefusal({ backup: sealed.backupId, target: target('pgk_sealed_zstd') }, 'BackupDamaged', /zstd cannot decompress the archive .*; yet its stored bytes in .*, read again, match its manifest: the archive was written so, or its manifest was changed to match it, and no worker can restore it/);
        await t.store.delete(sealed.archiveKey);
        await t.store.delete(manifestKey);
      });
    });

    it('roles the archive needs but the server lacks are named (not words of a body or a literal); noOwner + noPrivileges restores anyway', async () => {
      const owner = uniqueName('pgk_owner');
      const reader = uniqueName('pgk_reader');
      const db = target('pgk_roles');
      await sql(t.config, 'postgres', `create role ${owner}; create role ${reader}`);
      await createDatabase(t.config, db);
      await sql(t.config, db, `create table owned (id int); alter table owned owner to ${owner}; grant select on owned to ${reader}`);
      // Lines of a body and a default that read like statements naming roles: pg_restore runs them as text.
      await sql(t.config, db, `create procedure swap() language sql as $$\nALTER TABLE owned RENAME TO owned_old;\nGRANT SELECT ON owned TO nobody_here;\n$$`);
      await sql(t.config, db, `create table notes (note text default 'hand it TO nobody_either;')`);
      const rolesBackup = await withWorker(env, t.config, () => runBackup(env, t.config, db));
      await dropDatabase(t.config, db);
      await sql(t.config, 'postgres', `drop role ${owner}; drop role ${reader}`);
      await withWorker(env, t.config, async () => {
        await expectRefusal({ backup: rolesBackup.backupId, target: target('pgk_noroles') }, 'RolesMissing', new RegExp(`roles missing on [^:]*:\\d+: "(${owner}", "${reader}|${reader}", "${owner})"\\. Create them`));
        await expectRefusal({ backup: rolesBackup.backupId, target: target('pgk_noroles'), noOwner: true }, 'RolesMissing', new RegExp(`: "${reader}"\\.`));
        const result = await runRestore(env, t.config, { backup: rolesBackup.backupId, target: target('pgk_noroles'), noOwner: true, noPrivileges: true });
        assert.equal(result.tables, 2);
      });
    });

    it('the tablespaces of the database and its tables are kept where the server has them; missing ones are named before anything is restored, and noTablespaces restores into the default one', async () => {
      const [forDatabase, forTable] = [uniqueName('pgk_ts_db'), uniqueName('pgk_ts_table')];
      const [db, kept] = [target('pgk_spaces'), target('pgk_spaces_kept')];
      for (const space of [forDatabase, forTable]) await sql(t.config, 'postgres', `create tablespace ${space} location '${tablespaceDirectory(space)}'`);
      await sql(t.config, 'postgres', `create database ${db} tablespace ${forDatabase}`);
      await sql(t.config, db, `create table placed (id int primary key using index tablespace ${forTable}) tablespace ${forTable}; create table plain (id int); insert into placed values (1)`);
      /** Where the database and each table and index are: null for the database's own tablespace. */
      const placement = async (database: string) => ({
        database: (await databaseProperties(t.config, database)).tablespace,
        relations: await sql<{ relname: string; spcname: string | null }>(
          t.config,
          database,
          `select relname, spcname from pg_class c left join pg_tablespace s on s.oid = c.reltablespace where relname in ('placed', 'placed_pkey', 'plain') order by relname`,
        ),
      });
      const want = await placement(db);
      assert.deepEqual(want.relations.map((r) => r.spcname), [forTable, forTable, null]);
      const placed = await withWorker(env, t.config, async () => {
        const made = await runBackup(env, t.config, db);
        await runRestore(env, t.config, { backup: made.backupId, target: kept });
        return made;
      });
      assert.deepEqual(await placement(kept), want);
      for (const name of [db, kept]) await dropDatabase(t.config, name);
      for (const space of [forDatabase, forTable]) await sql(t.config, 'postgres', `drop tablespace ${space}`);
      await withWorker(env, t.config, async () => {
        const into = target('pgk_nospace');
        const both = [forDatabase, forTable].sort().map((s) => `"${s}"`).join(', ');
        await expectRefusal({ backup: placed.backupId, target: into }, 'TablespacesMissing', new RegExp(`tablespaces missing on .*, which ${placed.backupId} puts its database, tables or indexes in: ${both}\\. .*restore with --no-tablespaces \\("noTablespaces"`));
        const result = await runRestore(env, t.config, { backup: placed.backupId, target: into, noTablespaces: true });
        assert.equal(result.rows, 1);
        assert.deepEqual(await placement(into), { database: 'pg_default', relations: want.relations.map((r) => ({ ...r, spcname: null })) });
      });
    });

    it('a loose archive of a database in another encoding than the server default comes back in its own, bytes as they were, with a warning', async () => {
      const legacy = target('pgk_ascii');
      await sql(t.config, 'postgres', `create database ${legacy} template template0 encoding 'SQL_ASCII' lc_collate 'C' lc_ctype 'C'`);
      await sql(t.config, legacy, `create table t (s text); insert into t values (E'caf\\x80')`);
      const hex = (database: string) => sql<{ hex: string; encoding: string }>(t.config, database, `select encode(convert_to(s, 'SQL_ASCII'), 'hex') as hex, getdatabaseencoding() as encoding from t`);
      const want = await hex(legacy);
      assert.deepEqual(want, [{ hex: '63616680', encoding: 'SQL_ASCII' }]);
      const archive = execFileSync(pgTool('pg_dump'), ['-Fc', '-d', legacy], { env: pgToolEnv(), maxBuffer: 1 << 26 });
      await t.store.put(`legacy/${legacy}_20261101_020000.dump`, archive);
      const into = target('pgk_ascii_back');
      const result = await withWorker(env, t.config, () => runRestore(env, t.config, { backup: `legacy/${legacy}_20261101_020000.dump`, target: into }));
      assert.deepEqual(await hex(into), want);
      assert.ok(result.warnings.includes("the archive records no locale (no manifest): restored with its encoding SQL_ASCII (the server's default is UTF8) and the C locale"), result.warnings.join('\n'));
    });

    it('loose archives by key: a .sha256 sidecar is checked; an archive of another database is refused; no sidecar means a full read-through', async () => {
      const plain = (await withWorker(env, t.config, () =>
        env.client.workflow.execute(backupDatabase, {
          args: [{ database: source, compression: 'gzip:1' }],
          taskQueue: t.config.temporal.taskQueue,
          workflowId: databaseWorkflowId(t.config.temporal.taskQueue, source),
        }),
      )) as BackupResult;
      const bytes = await readObject(t.store, plain.archiveKey);
      const sha = createHash('sha256').update(bytes).digest('hex');
      await t.store.put('legacy/app_20261101_020000.dump', bytes);
      await t.store.put('legacy/app_20261101_020000.dump.sha256', `${sha}  app_20261101_020000.dump\n`);
      await t.store.put(`legacy/${source}_20261101_020000.dump`, bytes);
      await t.store.put(`legacy/${source}_20261101_020000.dump.sha256`, `${'0'.repeat(64)}  ${source}_20261101_020000.dump\n`);
      await t.store.put(`legacy/${source}_20261102_020000.dump`, bytes.subarray(0, 4096));
      await withWorker(env, t.config, async () => {
        // The name says "app", the archive's header says otherwise: refused, whatever the checksum says.
        await expectRefusal({ backup: 'legacy/app_20261101_020000.dump', target: target('pgk_wrongdb') }, 'WrongDatabase', new RegExp(`holds database "${source}", not "app"`));
        await expectRefusal({ backup: `legacy/${source}_20261101_020000.dump`, target: target('pgk_badsidecar') }, 'ChecksumMismatch', /does not match its manifest/);
        await expectRefusal({ backup: `legacy/${source}_20261102_020000.dump`, target: target('pgk_seedbad') }, /^(CorruptArchive|RestoreFailed)$/, /unreadable|not a readable|could not restore/);
        await t.store.put(`legacy/${source}_20261101_020000.dump.sha256`, `${sha}  ${source}_20261101_020000.dump\n`);
        const into = target('pgk_seed');
        const result = await runRestore(env, t.config, { backup: `legacy/${source}_20261101_020000.dump`, target: into });
        assert.equal(result.backup.database, source, 'database name read from the file name, confirmed by the header');
        assert.equal(result.backup.checksum, 'verified');
        assert.deepEqual(
          result.warnings.filter((w) => /manifest/.test(w)),
          [`legacy/${source}_20261101_020000.dump has no manifest: checksum verified against its .sha256 sidecar; tables, row counts and database-level properties were not checked`],
          'one warning says what a restore without a manifest could not check',
        );
        assert.deepEqual(await tableFingerprints(t.config, into), await tableFingerprints(t.config, source));
        assert.equal((await databaseProperties(t.config, into)).comment, null, 'the mark it carried while being restored into is gone');
        // Such a file compressed by hand still says which database it holds.
        await t.store.put(`legacy/${source}_20261103_020000.dump.zst`, execFileSync('zstd', ['-c'], { input: bytes, maxBuffer: 1 << 26 }));
        const zstd = await runRestore(env, t.config, { backup: `legacy/${source}_20261103_020000.dump.zst`, target: target('pgk_seed_zst') });
        assert.equal(zstd.backup.database, source);

        // A pgkeeper archive by key, beside a "database" it is not a backup of: refused, as by id.
        await expectRefusal({ backup: plain.archiveKey, database: 'someother', target: target('pgk_key_db') }, 'InvalidInput', /is named for database ".*", not "someother"; leave the database out \(--database, "database"\)/);
        // A pgkeeper archive whose manifest is gone: by id, no backup, but the refusal gives its key;
        // by key, its own name says which database it holds.
        await t.store.delete(`${source}/${plain.backupId}.manifest.json`);
        const orphanId = target('pgk_orphan_id');
        await expectRefusal(
          { backup: plain.backupId, target: orphanId },
          'BackupNotFound',
          new RegExp(`^${plain.backupId} in ${t.store.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} has no manifest \\(its run did not finish, or the manifest was removed\\), so it is no backup pgkeeper vouches for; its archive can still be restored by key, checked against its \\.sha256 sidecar: pgkeeper restore ${plain.archiveKey.replace(/\./g, '\\.')} --target ${orphanId} --queue ${shellWord(t.config.temporal.taskQueue).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
        );
        // Replacing a database: the command given replaces it too (its source is left untouched by the refusal).
        await expectRefusal({ backup: plain.backupId, target: source, mode: 'replace', confirm: source }, 'BackupNotFound', new RegExp(`: pgkeeper restore \\S+ --target ${source} --replace --confirm ${source} --queue ${shellWord(t.config.temporal.taskQueue).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
        // ...and with the options the restore was given, so the command does what was asked.
        await expectRefusal(
          { backup: plain.backupId, target: orphanId, jobs: 4, noOwner: true, noPrivileges: true, globals: 'latest', store: t.store.url },
          'BackupNotFound',
          new RegExp(`: pgkeeper restore ${plain.archiveKey.replace(/\./g, '\\.')} --target ${orphanId} --jobs 4 --no-owner --no-privileges --globals latest --store ${shellWord(t.store.url).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} --queue ${shellWord(t.config.temporal.taskQueue).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
        );
        await expectRefusal({ backup: plain.archiveKey, database: 'someother', target: target('pgk_orphan_db') }, 'InvalidInput', /is named for database ".*", not "someother"; leave the database out \(--database, "database"\)/);
        const orphan = target('pgk_orphan');
        const restored = await runRestore(env, t.config, { backup: plain.archiveKey, target: orphan });
        assert.equal(restored.backup.database, source);
        assert.equal(restored.backup.checksum, 'verified');
        assert.deepEqual(await tableFingerprints(t.config, orphan), await tableFingerprints(t.config, source));

        // "latest" is the newest backup with a manifest; the newer archive without one is named, with its command.
        const pastOrphan = target('pgk_past_orphan');
        const latest = await runRestore(env, t.config, { backup: 'latest', database: source, target: pastOrphan });
        assert.notEqual(latest.backup.label, plain.backupId);
        assert.deepEqual(
          latest.warnings.filter((w) => /manifest/.test(w)),
          [`a newer archive, ${plain.archiveKey} in ${t.store.url}, has no manifest (its run did not finish, or the manifest was removed), so "latest" is ${latest.backup.label}; to restore that archive instead: pgkeeper restore ${plain.archiveKey} --target ${pastOrphan} --queue ${shellWord(t.config.temporal.taskQueue)}`],
        );
      });
    });

    it('hostile names are quoted or rejected, and no other database is touched', async () => {
      const victim = target('v');
      await sql(t.config, 'postgres', `create database ${victim}`);
      const hostile = `"w'q"; drop database ${victim}; --`;
      created.push(hostile);
      await withWorker(env, t.config, async () => {
        const result = await runRestore(env, t.config, { backup: backup.backupId, target: hostile }).catch((e: unknown) => {
          throw rootFailure(e);
        });
        assert.equal(result.target, hostile);
        assert.ok(await databaseExists(t.config, hostile), 'created under exactly that name');
        assert.ok(await databaseExists(t.config, victim), 'the database named inside the name still exists');
        assert.deepEqual(await tableFingerprints(t.config, hostile), await tableFingerprints(t.config, source));
        await expectRefusal({ backup: backup.backupId, target: 'x'.repeat(64) }, 'InvalidInput', /64 bytes; PostgreSQL names are at most 63/);
        await expectRefusal({ backup: backup.backupId, target: 'y'.repeat(50) }, 'InvalidInput', /pgkeeper needs 19 of them for its own suffix, so use at most 44/);
        await expectRefusal({ backup: backup.backupId, target: 'a/b' }, 'InvalidInput', /contains a slash/);

        // A name holding a line separator (U+2028), which PostgreSQL allows and a regular
        // expression's `.` does not match: its backups are found again like any other's.
        const separated = target('ls\u2028x');
        await runRestore(env, t.config, { backup: backup.backupId, target: separated });
        const made = await runBackup(env, t.config, separated);
        const again = target('again');
        const restored = await runRestore(env, t.config, { backup: 'latest', database: separated, target: again });
        assert.equal(restored.backup.label, made.backupId);
        assert.deepEqual(await tableFingerprints(t.config, again), await tableFingerprints(t.config, source));
      });
    });

    if (kind === 'file') {
      it('keys and paths that leave the store are rejected, symlinks included; unfinished files are never restored', async () => {
        const dir = backupDir(t.config);
        const outside = path.join(path.dirname(dir), `${uniqueName('outside')}.dump`);
        await fs.writeFile(outside, await readObject(t.store, backup.archiveKey));
        await fs.symlink(outside, path.join(dir, 'link.dump'));
        await withWorker(env, t.config, async () => {
          for (const id of ['../../etc/passwd', '../outside.dump', outside, 'link.dump', `${source}-20261101T020000Z-../../x`]) {
            await expectRefusal({ backup: id, target: target('pgk_escape') }, 'InvalidInput', /leaves the local store|not a key inside the store|outside the store|not of the form|is not an archive/);
          }
          const partial = `${path.join(dir, backup.archiveKey)}.0123456789ab.partial`;
          await fs.copyFile(path.join(dir, backup.archiveKey), partial);
          await expectRefusal({ backup: partial, target: target('pgk_partial') }, 'InvalidInput', /is an unfinished file .* it is never restored/);
          await fs.rm(partial);
        });
      });
    }
  });
}
