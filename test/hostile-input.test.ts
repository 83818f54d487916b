/**
 * Hostile input, generated: random database names, backup ids and paths thrown at validation and
 * at the workflows' entry points. Nothing may escape BACKUP_DIR, nothing unquoted may reach SQL or
 * the pg tools, and every rejection must be a clear validation error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { backupPaths, resolveInside } from '../activities/backup-store.js';
import { conninfoForDatabase } from '../activities/pg-tools.js';
import { realPathInside } from '../activities/resolve-backup.js';
import { parseBackupId } from '../common/backup-id.js';
import { InputError } from '../common/errors.js';
import { MAX_IDENTIFIER_BYTES, utf8Length, validateDatabaseName } from '../common/names.js';
import { quoteIdent } from '../common/sql.js';
import { backupDatabase, restoreDatabase } from '../workflows/index.js';
import { pgTool, pgToolEnv } from './helpers/cluster.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { adminClient, sql } from './helpers/postgres.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { rootFailure } from './helpers/workflows.js';

const PIECES = ['a', 'Z', '_', '-', '.', '..', '/', '\\', '"', "'", ';', ' ', '\n', '\u0000', '$', '=', 'é', '💥', '%', '*', 'dbname=', 'postgres://', '--', '-20261124T020000Z-', '1a2b3c4d'];
const hostile = fc.string({ unit: fc.constantFrom(...PIECES), maxLength: 40 });
const hostileOrAny = fc.oneof(hostile, fc.string({ maxLength: 70 }), fc.string({ unit: 'binary', maxLength: 70 }));

const inside = (root: string, p: string) => p === root || p.startsWith(root + path.sep);

/** Every path under `dir`, recursively, sorted. */
async function tree(dir: string): Promise<string[]> {
  return (await fs.readdir(dir, { recursive: true })).sort();
}

describe('hostile input (property tests)', () => {
  const config = testConfig();
  const root = path.resolve(config.backupDir);
  // BACKUP_DIR's parent is this test's own temporary directory (testConfig): it may look there.
  const testDir = path.dirname(root);
  const outside = path.join(testDir, `${uniqueName('outside')}`);
  let env: TestWorkflowEnvironment;

  before(async () => {
    mkdirSync(outside, { recursive: true });
    writeFileSync(path.join(outside, 'secret.dump'), 'PGDMP');
    symlinkSync(outside, path.join(root, 'escape'));
    env = await startDevServer();
  });
  after(async () => {
    await fs.rm(outside, { recursive: true, force: true });
    await env?.teardown();
  });

  it('database names: accepted ones are safe as identifiers and paths; the rest get a clear InputError', () => {
    fc.assert(
      fc.property(hostileOrAny, (name) => {
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
        const paths = backupPaths(root, accepted, `${accepted}-20261124T020000Z-1a2b3c4d`);
        for (const p of Object.values(paths)) assert.ok(inside(root, p), `${p} escapes ${root}`);
        assert.equal(path.dirname(paths.dump), path.join(root, accepted));
      }),
      { numRuns: 2000 },
    );
  });

  it('backup ids: accepted ones resolve inside BACKUP_DIR; the rest get a clear InputError', () => {
    fc.assert(
      fc.property(fc.oneof(hostileOrAny, hostile.map((h) => `${h}-20261124T020000Z-1a2b3c4d`)), (id) => {
        try {
          const parsed = parseBackupId(id);
          for (const p of Object.values(backupPaths(root, parsed.database, parsed.id))) assert.ok(inside(root, p), `${p} escapes`);
        } catch (err) {
          assert.ok(err instanceof InputError, String(err));
          assert.match(err.message, /backup id|database part of the backup id/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('paths: nothing outside BACKUP_DIR is ever resolved, symlinks included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostile, fc.constantFrom('escape/secret.dump', '../x.dump', `${outside}/secret.dump`, '/etc/passwd', 'a/../../b')), async (p) => {
        try {
          assert.ok(inside(root, resolveInside(root, p)));
        } catch (err) {
          assert.ok(err instanceof InputError);
        }
        try {
          const real = await realPathInside(config, p);
          assert.ok(inside(root, real), `${real} escapes ${root}`);
        } catch (err) {
          assert.ok(err instanceof InputError, String(err));
          assert.match(err.message, /leaves BACKUP_DIR|no file at/);
        }
      }),
      { numRuns: 500 },
    );
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
