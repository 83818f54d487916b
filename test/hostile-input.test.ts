/**
 * Hostile input, generated: random database names, backup ids and keys thrown at validation, at the
 * store and at the workflows' entry points. No key leaves its store, nothing unquoted reaches SQL or
 * the pg tools, and every rejection is a clear validation error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { conninfoForDatabase } from '../activities/postgres/pg-tools.js';
import { resolveBackup } from '../activities/resolve-backup.js';
import { openStore } from '../activities/store/open-stores.js';
import { checkKey } from '../activities/store/store-key.js';
import { parseBackupId } from '../common/backup-id.js';
import { backupKeys, classifyKey } from '../common/backup-keys.js';
import { InputError } from '../common/errors.js';
import { MAX_IDENTIFIER_BYTES, utf8Length, validateDatabaseName } from '../common/names.js';
import { quoteIdent } from '../common/sql.js';
import { backupDatabase, restoreDatabase } from '../workflows/index.js';
import { pgTool, pgToolEnv } from './helpers/cluster.js';
import { backupDir, testConfig, uniqueName } from './helpers/config.js';
import { adminClient, sql } from './helpers/postgres.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { rootFailure } from './helpers/workflows.js';

const PIECES = ['a', 'Z', '_', '-', '.', '..', '/', '\\', '"', "'", ';', ' ', '\n', '\u0000', '$', '=', 'é', '💥', '%', '*', 'dbname=', 'postgres://', '\uFFFE', '\uFFFF', '--', '-20261124T020000Z-', '1a2b3c4d'];
const hostile = fc.string({ unit: fc.constantFrom(...PIECES), maxLength: 40 });
const hostileOrAny = fc.oneof(hostile, fc.string({ maxLength: 70 }), fc.string({ unit: 'binary', maxLength: 70 }));
const FILTER_CHAINS = [[], [{ filter: 'zstd' as const, level: 1 }], [{ filter: 'zstd' as const, level: 3 }, { filter: 'age' as const, recipients: ['age1x'] }]];

const inside = (root: string, p: string) => p === root || p.startsWith(root + path.sep);

/** Every path under `dir`, recursively, sorted. */
async function tree(dir: string): Promise<string[]> {
  return (await fs.readdir(dir, { recursive: true })).sort();
}

/** Where the posix driver puts `key` (a key that passed checkKey). */
const fileOfKey = (root: string, key: string) => path.resolve(root, ...key.split('/'));

describe('hostile input (property tests)', () => {
  const config = testConfig();
  const root = path.resolve(backupDir(config));
  const store = openStore(config.stores.primary);
  // BACKUP_DIR's parent is this test's own temporary directory (testConfig): it may look there.
  const testDir = path.dirname(root);
  const outside = path.join(testDir, `${uniqueName('outside')}`);
  let env: TestWorkflowEnvironment;

  before(async () => {
    mkdirSync(outside, { recursive: true });
    writeFileSync(path.join(outside, 'secret.dump'), 'PGDMP outside the store');
    symlinkSync(outside, path.join(root, 'escape'));
    env = await startDevServer();
  });
  after(async () => {
    await fs.rm(outside, { recursive: true, force: true });
    await env?.teardown();
  });

  it('database names: accepted ones are safe as identifiers and make keys inside their own folder; the rest get a clear InputError', () => {
    fc.assert(
      fc.property(hostileOrAny, fc.constantFrom(...FILTER_CHAINS), (name, filters) => {
        let accepted: string;
        try {
          accepted = validateDatabaseName(name);
        } catch (err) {
          assert.ok(err instanceof InputError, String(err));
          assert.match(err.message, /^database /);
          return;
        }
        assert.ok(utf8Length(accepted) <= MAX_IDENTIFIER_BYTES);
        assert.ok(!/[\/\\\u0000-\u001f]/.test(accepted) && !accepted.startsWith('.'));
        const id = `${accepted}-20261124T020000Z-1a2b3c4d`;
        const keys = backupKeys(accepted, id, filters);
        for (const key of [keys.archive, keys.sidecar, keys.manifest, keys.facts, keys.drillProof, keys.pin('run-1')]) {
          assert.equal(checkKey(key), key, 'a store accepts the key');
          assert.equal(path.dirname(fileOfKey(root, key)), path.join(root, accepted), `${key} is in the database's own folder`);
          assert.deepEqual([classifyKey(key)?.folder, classifyKey(key)?.id], [accepted, id], `${key} is recognised as the backup's`);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('backup ids: accepted ones name keys in their database\'s folder; the rest get a clear InputError', () => {
    fc.assert(
      fc.property(fc.oneof(hostileOrAny, hostile.map((h) => `${h}-20261124T020000Z-1a2b3c4d`)), (id) => {
        let parsed: ReturnType<typeof parseBackupId>;
        try {
          parsed = parseBackupId(id);
        } catch (err) {
          assert.ok(err instanceof InputError, String(err));
          assert.match(err.message, /backup id|database part of the backup id/);
          return;
        }
        for (const key of Object.values(backupKeys(parsed.database, parsed.id, [])).filter((k): k is string => typeof k === 'string' && k.includes('/'))) {
          assert.equal(checkKey(key), key);
          assert.ok(inside(path.join(root, parsed.database), fileOfKey(root, key)), `${key} escapes the folder of ${parsed.database}`);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('keys and paths: the store and restore\'s resolver read nothing outside the store, symlinks included', async () => {
    const escapes = ['escape/secret.dump', '../x.dump', `${outside}/secret.dump`, '/etc/passwd', 'a/../../b.dump', 'escape/../../x.dump', './a.dump', '/'];
    const refusedOrInside = (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure, String(err));
      assert.match(err.type ?? '', /^(InvalidInput|BackupNotFound)$/, err.message);
      return true;
    };
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostile, fc.constantFrom(...escapes)), async (key) => {
        // The driver: a key is refused, or it names a file inside the store (a link out of it is refused on reading).
        try {
          const text = await store.getText(key);
          assert.ok(inside(root, fileOfKey(root, checkKey(key))), `${key} read outside ${root}`);
          assert.ok(!text?.includes('outside the store'), `${key} read the file outside the store`);
        } catch (err) {
          refusedOrInside(err);
        }
        // What a restore does with the same text as its "backup" (an id, a key, or a path).
        try {
          const resolved = await resolveBackup(config, { backup: key, database: 'app' });
          assert.ok(inside(root, fileOfKey(root, checkKey(resolved.archiveKey))));
        } catch (err) {
          refusedOrInside(err);
        }
      }),
      { numRuns: 500 },
    );
    // The ones that matter most, each refused as input (never "not found" after having looked outside).
    for (const key of escapes) {
      await assert.rejects(store.getText(key), (err: ApplicationFailure) => err.type === 'InvalidInput', key);
      await assert.rejects(resolveBackup(config, { backup: key, database: 'app' }), (err: ApplicationFailure) => err.type === 'InvalidInput', key);
    }
  });

  it('quoted identifiers reach PostgreSQL as exactly the name, never as SQL', async () => {
    const client = adminClient(config, 'postgres');
    await client.connect();
    try {
      await fc.assert(
        fc.asyncProperty(hostile, async (name) => {
          let accepted: string;
          try {
            accepted = validateDatabaseName(name);
          } catch {
            return;
          }
          const result = await client.query(`select 1 as ${quoteIdent(accepted)}`);
          assert.equal(result.fields.length, 1);
          assert.equal(result.fields[0]!.name, accepted);
        }),
        { numRuns: 300 },
      );
    } finally {
      await client.end();
    }
  });

  it('conninfo values reach libpq as exactly the database name', () => {
    fc.assert(
      fc.property(hostile, (name) => {
        let accepted: string;
        try {
          accepted = validateDatabaseName(name);
        } catch {
          return;
        }
        const run = spawnSync(pgTool('psql'), ['-X', '-w', '-h', config.db.host, '-p', String(config.db.port), '-d', conninfoForDatabase(accepted), '-Atc', 'select current_database()'], {
          encoding: 'utf8',
          env: pgToolEnv(),
        });
        // Either the database exists under exactly that name, or libpq asked for exactly that name.
        if (run.status === 0) assert.equal(run.stdout.trim(), accepted);
        else assert.ok(run.stderr.includes(`database "${accepted}" does not exist`), run.stderr);
      }),
      { numRuns: 60 },
    );
  });

  it('workflow entry points reject hostile input with validation errors and touch nothing', async () => {
    // Only what this test could have caused is looked at: databases named after its own generated
    // targets (or their staging and kept-previous names), and files in its own directory.
    const filesBefore = await tree(testDir);
    const targets = new Set<string>();
    const expected = new Set(['InvalidInput', 'BackupNotFound', 'DatabaseMissing']);
    await withWorker(env, config, async () => {
      await fc.assert(
        fc.asyncProperty(hostile, hostile, fc.constantFrom('create', 'replace', 'drop', undefined), async (backup, target, mode) => {
          targets.add(target);
          // One after the other: run together on the same name, the second would rightly be skipped.
          const outcomes = [
            await env.client.workflow
              .execute(restoreDatabase, {
                args: [{ backup, target, database: target, mode: mode as 'create', confirm: target }],
                taskQueue: config.temporal.taskQueue,
                workflowId: uniqueName('hostile-restore'),
              })
              .catch((e: unknown) => e),
            await env.client.workflow
              .execute(backupDatabase, { args: [{ database: target }], taskQueue: config.temporal.taskQueue, workflowId: uniqueName('hostile-backup') })
              .catch((e: unknown) => e),
          ];
          for (const outcome of outcomes) {
            assert.ok(outcome instanceof WorkflowFailedError, `a hostile input did not fail: ${JSON.stringify(outcome)}`);
            const failure = rootFailure(outcome);
            assert.ok(expected.has(failure.type ?? ''), `${failure.type}: ${failure.message}`);
            assert.ok(failure.message.length > 20);
          }
        }),
        { numRuns: 25 },
      );
    });
    // PostgreSQL cannot hold a NUL in a name (nor take one as a parameter): such a target cannot exist.
    const names = [...targets].filter((t) => !t.includes('\u0000'));
    assert.ok(names.length > 0, 'some targets were generated');
    const made = await sql<{ datname: string }>(
      config,
      'postgres',
      `select datname from pg_database d
        where exists (select 1 from unnest($1::text[]) t
                       where d.datname = t or starts_with(d.datname, t || '_restoring_') or starts_with(d.datname, t || '_pre_restore_'))`,
      [names],
    );
    assert.deepEqual(made, [], 'no database created under a generated name');
    assert.deepEqual(await tree(testDir), filesBefore, 'no file written in BACKUP_DIR or beside it');
  });
});
