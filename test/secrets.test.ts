import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Runtime } from '@temporalio/worker';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { backupDatabase } from '../workflows/index.js';
import { createLogger, TemporalPinoLogger } from '../worker/logger.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { keysUnder, readObject, STORE_KINDS, storeUnderTest } from './helpers/stores.js';
import { dropDatabase, quoteIdent, seedDatabase, sql } from './helpers/postgres.js';
import { historyText } from './helpers/history-text.js';
import { markRuntimeInstalled, startDevServer, withWorker } from './helpers/temporal.js';

const PASSWORD = `Pw-${uniqueName('secret')}`;

/** Every log line of the SDK, the worker and the activities, at debug level. */
const captured: string[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    captured.push(String(chunk));
    done();
  },
});

describe('secrets', () => {
  let env: TestWorkflowEnvironment;
  const role = uniqueName('pgk_role');
  const database = uniqueName('pgk_secret');
  const setup = testConfig();

  before(async () => {
    Runtime.install({ logger: new TemporalPinoLogger(createLogger('debug', sink)) });
    markRuntimeInstalled();
    env = await startDevServer();
    await seedDatabase(setup, database);
    await sql(setup, 'postgres', `create role ${quoteIdent(role)} login password '${PASSWORD}'`);
    await sql(setup, 'postgres', `grant pg_read_all_data to ${quoteIdent(role)}`);
  });
  after(async () => {
    await dropDatabase(setup, database);
    await sql(setup, 'postgres', `drop role if exists ${quoteIdent(role)}`);
    await env?.teardown();
  });

  for (const kind of STORE_KINDS) {
    it(`the password (and the S3 secret key) reach neither history, logs, nor the store's objects and their metadata, in success or failure (${kind} store)`, async () => {
      const t = await storeUnderTest(kind, { DB_USER: role, DB_PASSWORD: PASSWORD, LOG_LEVEL: 'debug' });
      try {
        const config = t.config;
        const secrets = [PASSWORD, ...(t.s3 ? [t.s3.credentials.secretAccessKey] : [])];
        const okId = uniqueName('ok');
        const failedId = uniqueName('failed');
        const missing = uniqueName('pgk_nope');
        captured.length = 0;
        const result = await withWorker(env, config, async () => {
          const ok = await env.client.workflow.execute(backupDatabase, { args: [{ database }], taskQueue: config.temporal.taskQueue, workflowId: okId });
          await assert.rejects(env.client.workflow.execute(backupDatabase, { args: [{ database: missing }], taskQueue: config.temporal.taskQueue, workflowId: failedId }));
          return ok;
        });
        assert.ok(result.status === 'completed', result.status);

        for (const [id, marker] of [[okId, `${database}-`], [failedId, `does not exist on ${config.db.host}`]] as const) {
          const text = historyText(env.address, id);
          assert.ok(text.includes(marker), `history of ${id} is readable (contains ${marker})`); // so the next check can fail
          for (const secret of secrets) assert.ok(!text.includes(secret), `a secret found in history of ${id}`);
        }
        const logs = captured.join('');
        assert.ok(logs.includes(okId), 'logs were captured'); // the activity and workflow logs name the run
        for (const secret of secrets) assert.ok(!logs.includes(secret), 'a secret found in logs');

        // Every object the backup left in the store: its key, its bytes (the archive decompressed)
        // and, on S3, everything HeadObject returns about it (user metadata included).
        const keys = await keysUnder(t.store, '');
        assert.ok(keys.includes(`${database}/${result.backupId}.manifest.json`), keys.join(', '));
        const manifest = (await readObject(t.store, `${database}/${result.backupId}.manifest.json`)).toString();
        assert.ok(manifest.includes(`"database": "${database}"`) || manifest.includes(`"database":"${database}"`), 'the manifest is readable');
        for (const key of keys) {
          const bytes = await readObject(t.store, key);
          const text = key === result.archiveKey ? execFileSync('zstd', ['-dc'], { input: bytes, maxBuffer: 1 << 30 }).toString('latin1') : bytes.toString('utf8');
          let metadata = '';
          if (t.s3) {
            const head = await t.s3.client.send(new HeadObjectCommand({ Bucket: t.s3.bucket, Key: `pgkeeper/${key}` }));
            assert.equal(head.ContentLength, bytes.length, `HeadObject describes ${key}`);
            metadata = JSON.stringify({ ...head, $metadata: undefined });
          }
          for (const secret of secrets) assert.ok(![key, text, metadata].some((x) => x.includes(secret)), `a secret found in ${key} or its metadata`);
        }
      } finally {
        await t.stop();
      }
    });
  }
});
