import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { markRuntimeInstalled, temporalCliPath } from './helpers/temporal.js';
import { testConfig, workerEnvironment } from './helpers/config.js';
import { spawnWorker } from './helpers/worker-process.js';
import { runWorkerUntilExit } from './helpers/worker-with-env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('search attributes on an existing cluster', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();

  before(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    markRuntimeInstalled();
    // A server that has never seen pgkeeper: no search attributes registered.
    env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: temporalCliPath() } } });
  });
  after(async () => {
    await env?.teardown();
  });

  it('the worker refuses to start without them; pgkeeper setup registers them, once', async () => {
    const refused = await runWorkerUntilExit({ ...workerEnvironment(config), TEMPORAL_ADDRESS: env.address });
    assert.equal(refused.exitCode, 2, refused.output);
    assert.match(refused.output, /^pgkeeper worker: search attributes PgkDatabase, PgkOperation, PgkBackupId, PgkOutcome, PgkStartedBy are not registered on namespace "default": run `pgkeeper setup`/m);
    // The CLI's readers of history say the same, in one line, exit 2.
    const history = await execa(`${ROOT}/bin/pgkeeper`, ['history'], { reject: false, env: { TEMPORAL_ADDRESS: env.address } });
    assert.equal(history.exitCode, 2, history.stderr);
    assert.equal(String(history.stderr).trim(), 'pgkeeper: namespace "default" has no search attribute PgkOperation (pgkeeper\'s are not registered there): run `pgkeeper setup` once, or set TEMPORAL_NAMESPACE to the namespace the worker uses');

    const setup = () => execa(`${ROOT}/bin/pgkeeper`, ['setup'], { reject: false, env: { TEMPORAL_ADDRESS: env.address } });
    const first = await setup();
    assert.equal(first.exitCode, 0, first.stderr);
    assert.match(first.stdout, /\(added PgkDatabase, PgkOperation, PgkBackupId, PgkOutcome, PgkStartedBy\)/);
    const second = await setup();
    assert.match(second.stdout, /\(all present\)/);

    const worker = await spawnWorker(env.address, config);
    await worker.kill('SIGTERM');
  });
});
