import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { markRuntimeInstalled, temporalCliPath } from './helpers/temporal.js';
import { testConfig } from './helpers/config.js';
import { spawnWorker } from './helpers/worker-process.js';

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
    const refused = await spawnWorker(env.address, config).catch((e: Error) => e);
    assert.ok(refused instanceof Error);
    assert.match(refused.message, /search attributes PgkDatabase, PgkOperation, PgkBackupId, PgkOutcome, PgkStartedBy are not registered on namespace \\"default\\": run `pgkeeper setup`/);

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
