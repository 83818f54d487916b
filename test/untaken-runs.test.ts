/**
 * A run the CLI waits on that no worker takes up: Temporal lists a worker that stopped, froze or
 * lost its connection a moment ago as polling for minutes, so the start is accepted and the wait
 * would say nothing. After 10 s a line says why, and the run goes ahead once a worker polls.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { openStore } from '../activities/store/open-stores.js';
import type { Config } from '../common/config.js';
import { requireWorker } from '../client/worker-workflow.js';
import { testConfig, uniqueName, workerEnvironment } from './helpers/config.js';
import { writeFakeBackup } from './helpers/fake-backups.js';
import { dropDatabase, seedDatabase } from './helpers/postgres.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { waitFor } from './helpers/processes.js';
import { startWorkerWithEnv } from './helpers/worker-with-env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('a run no worker takes up', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startDevServer();
  });
  after(async () => {
    await env?.teardown();
  });

  /**
   * Runs `pgkeeper args` while the only worker of `config`'s queue is frozen (SIGSTOP, as a host
   * that froze or lost the network: its polls stay open); once `stderr` holds the waiting line, the
   * frozen worker dies (its open polls, each handed a task it would keep until it times out, go with
   * it), a worker that polls is started, and the command's outcome returned.
   */
  async function whileFrozen(config: Config, args: string[]) {
    const frozen = await startWorkerWithEnv({ ...workerEnvironment(config), TEMPORAL_ADDRESS: env.address, LOG_LEVEL: 'info' });
    await requireWorker(env.client, config, 30_000); // it polls
    frozen.signal('SIGSTOP');
    try {
      const running = execa(`${ROOT}/bin/pgkeeper`, args, { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: config.temporal.taskQueue } });
      let stderr = '';
      running.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await waitFor('the waiting line', () => stderr.includes('waiting for a worker'), 30_000).catch((err: unknown) => assert.fail(`${String(err)}; stderr: ${stderr}`));
      const waitingLine = stderr;
      await frozen.stop('SIGKILL');
      return { waitingLine, done: await withWorker(env, config, () => running) };
    } finally {
      await frozen.stop('SIGKILL');
    }
  }

  it('prune --json (no progress shown): a line on stderr, and it runs once a worker polls', async () => {
    const config = testConfig(); // a queue of its own
    const db = uniqueName('pgk_prune_wait');
    await writeFakeBackup(openStore(config.stores.primary), db, 1);
    const { waitingLine, done } = await whileFrozen(config, ['prune', db, '--dry-run', '--json']);
    assert.match(waitingLine, new RegExp(`^waiting for a worker on task queue "${config.temporal.taskQueue}": none has taken pgkeeper:\\S+ up in 10 s .*Ctrl-C stops the waiting, not the run\n$`));
    assert.equal(done.exitCode, 0, done.stderr);
    assert.equal((JSON.parse(done.stdout) as { status: string }).status, 'completed');
  });

  it('backup --wait (progress shown): the progress says it waits for a worker, and the backup completes once one polls', async () => {
    const config = testConfig();
    const db = uniqueName('pgk_backup_wait');
    await seedDatabase(config, db);
    try {
      const { waitingLine, done } = await whileFrozen(config, ['backup', db, '--wait']);
      // The progress lines of a log (not a terminal) are timed; nothing came before this one.
      assert.match(waitingLine, new RegExp(`^\\d\\d:\\d\\d:\\d\\d waiting for a worker on task queue "${config.temporal.taskQueue}": none has taken pgkeeper:\\S+:${db} up in 10 s .*polls the queue`));
      assert.equal(done.exitCode, 0, done.stderr);
      assert.match(done.stdout, new RegExp(`^backup ${db}-\\S+ completed$`, 'm'));
    } finally {
      await dropDatabase(config, db);
    }
  });
});
