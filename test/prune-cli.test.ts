/**
 * `pgkeeper prune` from the command line when a store does not answer: the plan of the others is
 * printed, the store is named, and the exit code says the plan is not whole (3, as `backups`).
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { openStore } from '../activities/store/open-stores.js';
import type { RetentionResult } from '../common/types.js';
import { testConfig, uniqueName, workerEnvironment } from './helpers/config.js';
import { writeFakeBackup } from './helpers/fake-backups.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('prune from the command line', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startDevServer();
  });
  after(async () => {
    await env?.teardown();
  });

  it('a copy store not there: the primary planned (and pruned), the copy named, exit 3 (a real prune fails: exit 1)', async () => {
    const copyDir = path.join(tempDir('copy'), 'offsite');
    mkdirSync(copyDir);
    const config = testConfig({ BACKUP_COPIES: `file://${copyDir}`, RETENTION_DAYS: '7' });
    const db = uniqueName('pgk_prune');
    const old = await writeFakeBackup(openStore(config.stores.primary), db, 30);
    await writeFakeBackup(openStore(config.stores.primary), db, 1);
    rmSync(copyDir, { recursive: true }); // a disk not mounted
    await withWorker(env, config, async () => {
      const plan = await execa(`${ROOT}/bin/pgkeeper`, ['prune', db, '--dry-run'], { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: config.temporal.taskQueue } });
      assert.equal(plan.exitCode, 3, plan.stderr);
      assert.match(plan.stdout, new RegExp(`^${old.id}\\s.*\\sdelete\\s`, 'm'));
      assert.match(plan.stderr, new RegExp(`^store file://${copyDir} could not be read \\(not planned\\): file://${copyDir} is not there `, 'm'));
      const asJson = await execa(`${ROOT}/bin/pgkeeper`, ['prune', db, '--dry-run', '--json'], { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: config.temporal.taskQueue } });
      assert.equal(asJson.exitCode, 3, asJson.stderr);
      const result = JSON.parse(asJson.stdout) as RetentionResult;
      assert.deepEqual(result.stores[0]!.plan.find((d) => d.id === old.id)?.action, 'delete');
      assert.deepEqual(result.unreachable?.map((u) => u.store), [`file://${copyDir}`]);
      assert.match(asJson.stderr, new RegExp(`^store file://${copyDir} could not be read \\(not planned\\): `), 'why it exits 3, on stderr too');
      // A real prune fails, naming the store first; --json still prints what was done on the others.
      const pruned = await execa(`${ROOT}/bin/pgkeeper`, ['prune', db, '--json'], { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: config.temporal.taskQueue } });
      assert.equal(pruned.exitCode, 1, pruned.stderr);
      assert.match(pruned.stderr, new RegExp(`^pgkeeper: prune of "${db}" failed: file://${copyDir} is not there `));
      const done = JSON.parse(pruned.stdout) as RetentionResult & { status: string; dryRun: boolean; error: string };
      assert.deepEqual([done.status, done.dryRun, done.stores.map((s) => s.deleted), done.unreachable?.map((u) => u.store)], ['failed', false, [[old.id]], [`file://${copyDir}`]]);
      assert.match(done.error, new RegExp(`^file://${copyDir} is not there `));
    });
  });

  it('a name no store holds backups of: prune and backups name the one likely meant', async () => {
    const config = testConfig();
    const db = uniqueName('pgk_prune_typo');
    await writeFakeBackup(openStore(config.stores.primary), db, 1);
    const typo = `${db.slice(0, -1)}${db.endsWith('x') ? 'y' : 'x'}`;
    await withWorker(env, config, async () => {
      const run = (args: string[]) => execa(`${ROOT}/bin/pgkeeper`, args, { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: config.temporal.taskQueue } });
      const meant = new RegExp(`did you mean "${db}"\\? \\(backups there are of .*"${db}"`);
      const plan = await run(['prune', typo, '--dry-run']);
      assert.equal(plan.exitCode, 0, plan.stderr);
      assert.match(plan.stdout, new RegExp(`^no store holds a backup of "${typo}": ${meant.source}`, 'm'));
      const listed = await run(['backups', typo]);
      assert.equal(listed.exitCode, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`^no backups of "${typo}" in \\S+; ${meant.source}`));
      // The name that holds backups gets no such note.
      assert.doesNotMatch((await run(['prune', db, '--dry-run'])).stdout, /did you mean/);
    });
  });
});
