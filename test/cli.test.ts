import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { testConfig, uniqueName } from './helpers/config.js';
import { dropDatabase, seedDatabase, tableFingerprints } from './helpers/postgres.js';
import { startDevServer, withWorker } from './helpers/temporal.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('pgkeeper CLI', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  const database = uniqueName('pgk_cli');
  const restored = uniqueName('pgk_cli_copy');

  /** Runs bin/pgkeeper as a user would, against this file's dev server, without a terminal. */
  const pgkeeper = (...args: string[]) =>
    execa(`${ROOT}/bin/pgkeeper`, args, {
      reject: false,
      env: {
        TEMPORAL_ADDRESS: env.address,
        TASK_QUEUE: config.temporal.taskQueue,
        BACKUP_DIR: config.backupDir,
        DB_HOST: config.db.host,
        DB_PORT: String(config.db.port),
        DB_USER: config.db.user,
        DB_PASSWORD: config.db.password!,
      },
    });

  before(async () => {
    env = await startDevServer();
    await seedDatabase(config, database);
  });
  after(async () => {
    await dropDatabase(config, database);
    await dropDatabase(config, restored);
    await env?.teardown();
  });

  it('backup --wait, backups, restore --wait: a whole round trip from the command line', async () => {
    await withWorker(env, config, async () => {
      const backup = await pgkeeper('backup', database, '--wait');
      assert.equal(backup.exitCode, 0, backup.stderr);
      assert.match(backup.stdout, new RegExp(`workflow  pgkeeper:${config.temporal.taskQueue}:${database}`));
      assert.match(backup.stdout, /ui        http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\//);
      const id = /backup (\S+) completed/.exec(backup.stdout)?.[1];
      assert.ok(id, backup.stdout);
      assert.match(backup.stderr, /^\d\d:\d\d:\d\d (waiting for database|dumping|verifying)/m, 'plain progress lines when not a terminal');

      const list = await pgkeeper('backups', database);
      assert.equal(list.exitCode, 0);
      assert.match(list.stdout, new RegExp(`^${id}\\s+${database}\\s+\\d`, 'm'));

      const restore = await pgkeeper('restore', 'latest', '--database', database, '--target', restored, '--wait');
      assert.equal(restore.exitCode, 0, restore.stderr);
      assert.match(restore.stdout, new RegExp(`restored ${id} \\(of "${database}"\\) into "${restored}"`));
      assert.deepEqual(await tableFingerprints(config, restored), await tableFingerprints(config, database));
    });
  });

  it('failures exit non-zero with one clear line', async () => {
    await withWorker(env, config, async () => {
      const missing = await pgkeeper('backup', 'pgk_no_such_db', '--wait');
      assert.equal(missing.exitCode, 1);
      assert.match(missing.stderr, /pgkeeper: backup of "pgk_no_such_db" failed: database "pgk_no_such_db" does not exist/);

      const unconfirmed = await pgkeeper('restore', 'latest', '--database', database, '--target', database, '--replace');
      assert.equal(unconfirmed.exitCode, 1);
      assert.equal(unconfirmed.stdout, '', 'nothing was started');
      assert.match(unconfirmed.stderr, new RegExp(`set "confirm" to "${database}"`));

      const badLevel = await pgkeeper('backup', database, '--compress-level', '11');
      assert.notEqual(badLevel.exitCode, 0);
      assert.match(badLevel.stderr, /expected a whole number from 0 to 9/);
    });
  });
});
