/**
 * The S3 driver of the storage seam against a real S3-compatible server (versitygw, posix
 * backend), no mocks: streaming round trips, listings, aborted and failed uploads, the sweep of
 * unfinished multipart uploads, and the failures an operator must be able to read.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CreateMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { openS3Store, type S3Store } from '../activities/store/s3-store.js';
import { s3Settings } from '../activities/store/s3-settings.js';
import { partSizeFor } from '../activities/store/s3-upload.js';
import { InputError } from '../common/errors.js';
import { digestStream, generatedStream } from './helpers/byte-streams.js';
import { type S3Server, startS3Server } from './helpers/s3-server.js';

const MiB = 1024 * 1024;

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, `an ApplicationFailure, got ${String(err)}`);
  return err;
}

async function unfinishedUploads(server: S3Server): Promise<string[]> {
  const { Uploads } = await server.client.send(new ListMultipartUploadsCommand({ Bucket: server.bucket }));
  return (Uploads ?? []).map((u) => u.Key!);
}

/**
 * Runs `body` with `hook` called before each command the store's client sends (before the SDK's
 * retries: a throw fails the command at once), with the part number of an UploadPart.
 */
async function beforeEachCommand(store: S3Store, hook: (command: string, partNumber: number | undefined) => void, body: () => Promise<void>): Promise<void> {
  const client = (store as unknown as { client: S3Client }).client;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName as string;
      hook(command, command === 'UploadPartCommand' ? (args.input as { PartNumber?: number }).PartNumber : undefined);
      return next(args);
    },
    { step: 'initialize', name: 'testBeforeEachCommand' },
  );
  try {
    await body();
  } finally {
    client.middlewareStack.remove('testBeforeEachCommand');
  }
}

describe('S3 store', () => {
  let server: S3Server;
  let store: S3Store;

  before(async () => {
    server = await startS3Server();
    store = openS3Store(`s3://${server.bucket}/backups`, { endpoint: server.endpoint, credentials: server.credentials, idleTimeoutMs: 5_000 });
  });
  after(async () => {
    store?.close();
    await server?.stop();
  });

  it('streams 40 MB in and out as a multipart upload, byte for byte', async () => {
    const source = generatedStream(40 * MiB);
    const { sizeBytes } = await store.put('app/app-1.dump', source.stream);
    assert.equal(sizeBytes, 40 * MiB);
    const head = await server.client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: 'backups/app/app-1.dump' }));
    assert.match(head.ETag ?? '', /-5"$/, 'five parts of 8 MiB');
    const back = await digestStream(await store.get('app/app-1.dump'));
    assert.deepEqual(back, { sha256: await source.sha256, sizeBytes: 40 * MiB });
    await store.delete('app/app-1.dump');
  });

  it("sizes parts from the caller's estimate: S3's 5 MiB minimum for small objects, larger so a big one fits 10,000 parts", async () => {
    const source = generatedStream(12 * MiB);
    await store.put('app/app-2.dump', source.stream, { expectedBytes: 12 * MiB });
    const head = await server.client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: 'backups/app/app-2.dump' }));
    assert.match(head.ETag ?? '', /-3"$/, 'parts of 5, 5 and 2 MiB');
    assert.deepEqual(await digestStream(await store.get('app/app-2.dump')), { sha256: await source.sha256, sizeBytes: 12 * MiB });
    await store.delete('app/app-2.dump');
    for (const estimate of [100 * 1024 ** 3, 5 * 1024 ** 4]) {
      const part = partSizeFor(estimate);
      assert.ok(part * 10_000 >= 2 * estimate, `${part} B parts hold twice ${estimate} B in 10,000 parts`);
      assert.equal(part % MiB, 0);
    }
  });

  it('streams objects at the edges of a part byte for byte: empty, one byte short of a part, a part, one byte over, two parts', async () => {
    const part = 5 * MiB;
    const cases: [number, string][] = [
      [0, 'one PutObject'],
      [part - 1, 'one PutObject'],
      [part, '1 part'],
      [part + 1, '2 parts'],
      [2 * part, '2 parts'],
    ];
    for (const [size, shape] of cases) {
      // 100,003-byte chunks: never aligned with a part, so parts are filled across chunk boundaries.
      const source = generatedStream(size, undefined, 100_003);
      const { sizeBytes } = await store.put('app/edge.dump', source.stream, { expectedBytes: size });
      assert.equal(sizeBytes, size);
      const head = await server.client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: 'backups/app/edge.dump' }));
      const parts = /-(\d+)"$/.exec(head.ETag ?? '')?.[1];
      assert.equal(parts === undefined ? 'one PutObject' : `${parts} part${parts === '1' ? '' : 's'}`, shape, `${size} B`);
      assert.deepEqual(await digestStream(await store.get('app/edge.dump')), { sha256: await source.sha256, sizeBytes: size }, `${size} B`);
    }
    await store.delete('app/edge.dump');
    assert.deepEqual(await unfinishedUploads(server), []);
  });

  it('puts small bodies whole; stat, list, listFolders and delete see keys relative to the store', async () => {
    await store.put('app/a.dump', Buffer.from('archive'));
    await store.put('app/a.dump.manifest.json', '{"v":1}');
    await store.put('other/b.dump', Readable.from([Buffer.from('small stream')]));
    await store.put('.globals/g.sql', 'roles');
    await server.client.send(new CreateMultipartUploadCommand({ Bucket: server.bucket, Key: 'backups/app/unfinished.dump' }));

    const stat = await store.stat('app/a.dump');
    assert.equal(stat?.key, 'app/a.dump');
    assert.equal(stat?.sizeBytes, 7);
    assert.ok(Math.abs(stat!.modifiedMs - Date.now()) < 60_000, 'modification time is now');
    assert.equal(await store.stat('app/missing.dump'), undefined);

    const listed = (await store.list('app/')).map((o) => `${o.key}:${o.sizeBytes}`).sort();
    assert.deepEqual(listed, ['app/a.dump.manifest.json:7', 'app/a.dump:7'], 'no unfinished upload listed');
    assert.deepEqual((await store.list('')).map((o) => o.key).sort(), ['.globals/g.sql', 'app/a.dump', 'app/a.dump.manifest.json', 'other/b.dump']);
    assert.deepEqual((await store.listFolders('')).sort(), ['.globals', 'app', 'other']);
    assert.deepEqual(await store.listFolders('app'), []);
    assert.equal(await store.getText('app/a.dump.manifest.json'), '{"v":1}');

    await store.delete('app/a.dump');
    await store.delete('app/a.dump'); // twice: not an error
    assert.equal(await store.stat('app/a.dump'), undefined);
    assert.deepEqual((await store.list('app/')).map((o) => o.key), ['app/a.dump.manifest.json']);
    for (const key of ['app/a.dump.manifest.json', 'other/b.dump', '.globals/g.sql']) await store.delete(key);
    await store.sweepUnfinished(0);
  });

  it('getText of a missing key is undefined; get of one is a non-retryable BackupNotFound', async () => {
    assert.equal(await store.getText('app/nothing.manifest.json'), undefined);
    const failure = await failureOf(store.get('app/nothing.dump'));
    assert.equal(failure.type, 'BackupNotFound');
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.message, `app/nothing.dump does not exist in s3://${server.bucket}/backups`);
  });

  it('refuses keys that could name something outside the store', async () => {
    for (const key of ['../x', '/x', 'a//b', 'a/./b', '']) {
      const failure = await failureOf(store.put(key, 'x'));
      assert.equal(failure.type, 'InvalidInput', key);
    }
  });

  it('an upload aborted mid-way leaves no object and no multipart upload', async () => {
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    const source = generatedStream(Infinity, (produced) => {
      if (produced >= 40 * MiB) controller.abort(reason);
    });
    const err = await store.put('app/aborted.dump', source.stream, { signal: controller.signal }).catch((e: unknown) => e);
    assert.equal(err, reason, 'the abort reason comes back');
    assert.ok(source.stream.destroyed, 'the source is destroyed, so its producer stops');
    assert.deepEqual(await store.list('app/'), []);
    assert.deepEqual(await unfinishedUploads(server), [], 'the multipart upload was aborted');
  });

  it('aborted while its last parts are in flight: the upload is not completed without them', async () => {
    // The abort lands as the last part is sent, after the source has ended: the parts it cancels
    // fail quietly, and completing the upload then would publish the object with a gap.
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    const commands: string[] = [];
    await beforeEachCommand(store, (command, partNumber) => {
      commands.push(command);
      if (partNumber === 4) controller.abort(reason);
    }, async () => {
      const source = generatedStream(15 * MiB + 1234, undefined, 100_003);
      const err = await store.put('app/tail.dump', source.stream, { signal: controller.signal, expectedBytes: 15 * MiB }).catch((e: unknown) => e);
      assert.equal(err, reason, 'the abort reason comes back');
      assert.equal(commands.filter((c) => c === 'UploadPartCommand').length, 4);
      assert.ok(!commands.includes('CompleteMultipartUploadCommand'), `never completed: ${commands.join(', ')}`);
      assert.equal(await store.stat('app/tail.dump'), undefined);
      assert.deepEqual(await unfinishedUploads(server), [], 'the multipart upload was aborted');
    });
  });

  it('a part the store refuses is the cause, even when the torn-down stream makes the caller abort', async () => {
    // In a backup, the upload destroying its source resets zstd's output: zstd fails and the run
    // aborts the put with zstd's failure. The store went first, so the store is what is reported.
    const controller = new AbortController();
    await beforeEachCommand(store, (_command, partNumber) => {
      if (partNumber === 2) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    }, async () => {
      const source = generatedStream(Infinity, undefined, 100_003);
      source.stream.once('close', () => controller.abort(new Error('zstd failed: Connection reset by peer')));
      let abortedBeforeSettled = false;
      const err = await store.put('app/refused.dump', source.stream, { signal: controller.signal, expectedBytes: 15 * MiB }).then(
        () => undefined,
        (e: unknown) => {
          abortedBeforeSettled = controller.signal.aborted;
          return e;
        },
      );
      assert.ok(abortedBeforeSettled, 'the caller aborted (its source destroyed) before the put settled');
      assert.ok(err instanceof ApplicationFailure, String(err));
      assert.equal(err.type, 'StoreUnavailable', err.message);
      assert.equal(await store.stat('app/refused.dump'), undefined);
      assert.deepEqual(await unfinishedUploads(server), [], 'the multipart upload was aborted');
    });
  });

  it('stores a stream of strings or Uint8Arrays as their bytes', async () => {
    const text = Readable.from(['héllo, ', 'wörld']);
    assert.deepEqual(await store.put('app/text.dump', text), { sizeBytes: Buffer.byteLength('héllo, wörld') });
    assert.equal(await store.getText('app/text.dump'), 'héllo, wörld');
    const typed = Readable.from([new Uint8Array([1, 2, 3]), new Uint8Array(new ArrayBuffer(8), 2, 4).fill(7)]);
    assert.deepEqual(await store.put('app/typed.dump', typed), { sizeBytes: 7 });
    assert.deepEqual([...Buffer.from((await store.getText('app/typed.dump'))!, 'latin1')], [1, 2, 3, 7, 7, 7, 7]);
    await store.delete('app/text.dump');
    await store.delete('app/typed.dump');
  });

  it('a download aborted mid-way ends its stream with the abort reason; an aborted small put writes nothing', async () => {
    await store.put('app/read.dump', generatedStream(24 * MiB).stream);
    const controller = new AbortController();
    const reason = new Error('restore cancelled');
    const body = await store.get('app/read.dump', { signal: controller.signal });
    let received = 0;
    const err = await (async () => {
      for await (const chunk of body) {
        received += (chunk as Buffer).length;
        if (received >= 4 * MiB) controller.abort(reason);
      }
    })().catch((e: unknown) => e);
    assert.equal(err, reason);
    assert.ok(received < 24 * MiB);

    const aborted = AbortSignal.abort(reason);
    assert.equal(await store.put('app/small.dump', 'x', { signal: aborted }).catch((e: unknown) => e), reason);
    assert.equal(await store.stat('app/small.dump'), undefined);
    await store.delete('app/read.dump');
  });

  it('a source that fails mid-way fails the put with its own error and leaves nothing', async () => {
    const broken = new Error('pg_dump exited with code 1');
    const source = generatedStream(Infinity, (produced) => {
      if (produced >= 36 * MiB) throw broken;
    });
    source.stream.on('error', () => undefined);
    const err = await store.put('app/broken.dump', source.stream).catch((e: unknown) => e);
    assert.equal(err, broken);
    assert.deepEqual(await store.list('app/'), []);
    assert.deepEqual(await unfinishedUploads(server), []);
  });

  it('sweepUnfinished aborts multipart uploads begun before the cutoff, under its own prefix only', async () => {
    await server.client.send(new CreateMultipartUploadCommand({ Bucket: server.bucket, Key: 'backups/app/left.dump' }));
    await server.client.send(new CreateMultipartUploadCommand({ Bucket: server.bucket, Key: 'elsewhere/left.dump' }));
    const { Uploads } = await server.client.send(new ListMultipartUploadsCommand({ Bucket: server.bucket }));
    assert.ok(Uploads?.every((u) => u.Initiated instanceof Date), 'versitygw reports when each upload began');

    assert.deepEqual(await store.sweepUnfinished(60 * 60_000), [], 'begun just now: kept');
    await new Promise((r) => setTimeout(r, 2_100)); // Initiated has whole seconds
    assert.deepEqual(await store.sweepUnfinished(1_000, '', { dryRun: true }), ['app/left.dump']);
    assert.deepEqual(await unfinishedUploads(server), ['backups/app/left.dump', 'elsewhere/left.dump'], 'a dry run names it and leaves it');
    assert.deepEqual(await store.sweepUnfinished(1_000), ['app/left.dump']);
    assert.deepEqual(await unfinishedUploads(server), ['elsewhere/left.dump']);
    await openS3Store(`s3://${server.bucket}`, { endpoint: server.endpoint, credentials: server.credentials }).sweepUnfinished(0);
    assert.deepEqual(await unfinishedUploads(server), []);
  });

  it('wrong credentials fail with one non-retryable StoreAccessDenied line naming the variables, never the secret', async () => {
    const wrongSecret = { accessKeyId: server.credentials.accessKeyId, secretAccessKey: 'not-the-secret-0123456789' };
    const unknownKey = { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'not-the-secret-0123456789' };
    for (const credentials of [wrongSecret, unknownKey]) {
      const wrong = openS3Store(`s3://${server.bucket}/backups`, { endpoint: server.endpoint, credentials });
      for (const attempt of [() => wrong.check(), () => wrong.put('app/x.dump', generatedStream(20 * MiB).stream), () => wrong.list(''), () => wrong.get('app/x.dump')]) {
        const failure = await failureOf(attempt());
        assert.equal(failure.type, 'StoreAccessDenied');
        assert.equal(failure.nonRetryable, true);
        assert.match(failure.message, new RegExp(`^${server.endpoint} refused the credentials \\(\\w+, HTTP 40[34]\\) while .*; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`));
        assert.ok(!failure.message.includes(credentials.secretAccessKey) && !failure.message.includes(credentials.accessKeyId), 'no credential in the message');
        assert.ok(!failure.message.includes('\n'), 'one line');
      }
      wrong.close();
    }
  });

  it('a missing bucket fails with a non-retryable StoreMissing naming the bucket and BACKUP_STORE', async () => {
    const missing = openS3Store('s3://no-such-bucket/backups', { endpoint: server.endpoint, credentials: server.credentials });
    for (const attempt of [() => missing.check(), () => missing.list(''), () => missing.put('app/x.dump', generatedStream(20 * MiB).stream)]) {
      const failure = await failureOf(attempt());
      assert.equal(failure.type, 'StoreMissing');
      assert.equal(failure.nonRetryable, true);
      assert.match(failure.message, /^bucket "no-such-bucket" does not exist on http:\/\/127\.0\.0\.1:\d+ .*; create it, or fix the bucket in BACKUP_STORE \/ BACKUP_COPIES$/);
    }
    missing.close();
  });

  it('a region that is no host name: refused at once with the SDK\'s own words, not retried as an unknown S3 error', async () => {
    const spaced = openS3Store(`s3://${server.bucket}/backups`, { endpoint: server.endpoint, credentials: server.credentials, region: 'eu-west-1 ' });
    const failure = await failureOf(spaced.check());
    assert.equal(failure.nonRetryable, true, failure.message);
    assert.match(failure.message, /^S3 refused .* \(.*[Rr]egion.*\); check the store URL, its endpoint and AWS_REGION$/);
    spaced.close();
  });

  it('takes endpoint, region and credentials from the standard AWS_* environment', async () => {
    const env = {
      AWS_ENDPOINT_URL: server.endpoint,
      AWS_DEFAULT_REGION: server.region,
      AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
    };
    const settings = s3Settings(`s3://${server.bucket}/from-env/`, {}, env);
    assert.deepEqual(
      { url: settings.url, prefix: settings.prefix, endpoint: settings.endpoint, region: settings.region, forcePathStyle: settings.forcePathStyle },
      { url: `s3://${server.bucket}/from-env`, prefix: 'from-env/', endpoint: server.endpoint, region: server.region, forcePathStyle: true },
    );
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const fromEnv = openS3Store(`s3://${server.bucket}/from-env`);
      await fromEnv.check(); // credentials through the SDK's own chain
      fromEnv.close();
    } finally {
      for (const name of Object.keys(env)) if (saved[name] === undefined) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });
});

describe('S3 store settings', () => {
  it('refuses store URLs and endpoints it cannot use, without echoing them', () => {
    for (const url of ['s3://AKIAKEY:secretsecret@bucket/p', 's3://Bucket', 'file:///tmp/x', 's3://bucket/a/../b', 's3://bucket/p?x=secretsecret']) {
      assert.throws(() => s3Settings(url, {}, {}), (err: Error) => err instanceof InputError && !err.message.includes('secret'), url);
    }
    assert.throws(() => s3Settings('s3://bucket', {}, { AWS_ENDPOINT_URL: '127.0.0.1:7070' }), /check AWS_ENDPOINT_URL/);
    assert.deepEqual(
      (({ url, bucket, prefix, endpoint, region, forcePathStyle }) => ({ url, bucket, prefix, endpoint, region, forcePathStyle }))(
        s3Settings('s3://bucket//a/b/', {}, { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-west-2' }),
      ),
      { url: 's3://bucket/a/b', bucket: 'bucket', prefix: 'a/b/', endpoint: undefined, region: 'eu-west-1', forcePathStyle: false },
      'AWS itself: AWS_REGION first, virtual-hosted addressing',
    );
    assert.equal(s3Settings('s3://bucket', {}, { AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_S3: 'http://b:2' }).endpoint, 'http://b:2');
  });
});

describe('S3 store when the server stops answering', () => {
  let server: S3Server;
  let store: S3Store;
  const idleTimeoutMs = 1_000;

  before(async () => {
    server = await startS3Server();
    store = openS3Store(`s3://${server.bucket}`, { endpoint: server.endpoint, credentials: server.credentials, idleTimeoutMs });
  });
  after(async () => {
    store?.close();
    await server?.stop();
  });

  it('paused longer than one idle timeout mid-upload, then resumed: the retried part gets through, byte for byte', async () => {
    let paused = false;
    const source = generatedStream(64 * MiB, async (produced) => {
      if (paused || produced < 40 * MiB) return;
      paused = true;
      server.pause();
      setTimeout(() => server.resume(), 1_500);
    });
    await store.put('app/paused.dump', source.stream);
    assert.ok(paused);
    const back = await digestStream(await store.get('app/paused.dump'));
    assert.equal(back.sha256, await source.sha256);
    await store.delete('app/paused.dump');
  });

  it('paused for longer than the retries last: the upload fails retryably, in bounded time, and nothing is listed', async () => {
    let paused = false;
    const source = generatedStream(Infinity, (produced) => {
      if (paused || produced < 40 * MiB) return;
      paused = true;
      server.pause();
    });
    const started = Date.now();
    try {
      const failure = await failureOf(store.put('app/stalled.dump', source.stream));
      assert.equal(failure.type, 'StoreUnavailable');
      assert.equal(failure.nonRetryable, false);
      assert.match(failure.message, /^S3 endpoint http:\/\/127\.0\.0\.1:\d+ unavailable \(TimeoutError\) while writing app\/stalled\.dump/);
      // parts time out and are retried three times, then the abort of the upload does the same
      assert.ok(Date.now() - started < 30 * idleTimeoutMs, `gave up after ${Date.now() - started} ms`);
      assert.ok(source.stream.destroyed);
    } finally {
      server.resume();
    }
    assert.deepEqual(await store.list(''), []);
    // The abort timed out against the paused server (the kernel may still hand it over once
    // resumed): whatever is left, the sweep removes.
    const swept = await store.sweepUnfinished(0);
    assert.ok(swept.every((key) => key === 'app/stalled.dump'), swept.join());
    assert.deepEqual(await unfinishedUploads(server), []);
  });

  it('cancelled while the server is paused: the put gives up within one idle timeout, not after every retry', async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    const source = generatedStream(Infinity, (produced) => {
      if (abortedAt || produced < 40 * MiB) return;
      server.pause();
      setTimeout(() => {
        abortedAt = Date.now();
        controller.abort(new Error('cancelled'));
      }, 200);
    });
    try {
      const err = await store.put('app/cancelled.dump', source.stream, { signal: controller.signal }).catch((e: unknown) => e);
      assert.equal((err as Error).message, 'cancelled');
      // in-flight parts are cut at once; the clean-up abort gets one idle timeout (a retried
      // abort would take three)
      assert.ok(Date.now() - abortedAt < 2.5 * idleTimeoutMs, `gave up ${Date.now() - abortedAt} ms after the abort`);
    } finally {
      server.resume();
    }
    await store.sweepUnfinished(0);
    assert.deepEqual(await store.list(''), []);
    assert.deepEqual(await unfinishedUploads(server), []);
  });

  it('paused: stat, get, list and put fail retryably with StoreUnavailable in bounded time', async () => {
    await store.put('app/there.dump', 'x');
    server.pause();
    try {
      for (const attempt of [() => store.stat('app/there.dump'), () => store.get('app/there.dump'), () => store.list('app/'), () => store.put('app/new.dump', 'y')]) {
        const started = Date.now();
        const failure = await failureOf(attempt());
        assert.equal(failure.type, 'StoreUnavailable');
        assert.equal(failure.nonRetryable, false);
        assert.ok(Date.now() - started < 15 * idleTimeoutMs, `gave up after ${Date.now() - started} ms`);
      }
    } finally {
      server.resume();
    }
    // The kernel kept the timed-out requests queued: once resumed, the server may still carry out
    // the PutObject that the client gave up on (a whole body, so a whole object).
    await store.delete('app/there.dump');
  });

  it('paused: requests without a large body give up after the answer timeout, not the idle one (a store that stops answering is named soon)', async () => {
    const idle = 20_000;
    const answer = 500;
    const patient = openS3Store(`s3://${server.bucket}`, { endpoint: server.endpoint, credentials: server.credentials, idleTimeoutMs: idle, answerTimeoutMs: answer });
    await patient.put('app/asked.dump', 'x');
    server.pause();
    try {
      for (const [what, attempt] of [['list', () => patient.list('app/')], ['stat', () => patient.stat('app/asked.dump')], ['get', () => patient.getText('app/asked.dump')], ['delete', () => patient.delete('app/asked.dump')]] as const) {
        const started = Date.now();
        const failure = await failureOf(attempt());
        assert.equal(failure.type, 'StoreUnavailable', what);
        assert.match(failure.message, /unavailable \(ETIMEDOUT\)/, what);
        // three attempts of one answer timeout each, and the SDK's short back-off: far from one idle timeout
        assert.ok(Date.now() - started < idle / 2, `${what} gave up after ${Date.now() - started} ms`);
      }
    } finally {
      server.resume();
    }
    // The answer timeout ends with the answer: a download whose body pauses longer still completes.
    const big = generatedStream(64 * MiB);
    await patient.put('app/long.dump', big.stream);
    const body = await patient.get('app/long.dump');
    let received = 0;
    const digest = createHash('sha256');
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        digest.update(chunk);
        received += chunk.length;
        if (received >= 4 * MiB && received - chunk.length < 4 * MiB) {
          server.pause();
          await new Promise((resolve) => setTimeout(resolve, 4 * answer));
          server.resume();
        }
      }
    } finally {
      server.resume();
      patient.close();
    }
    assert.equal(digest.digest('hex'), await big.sha256);
    await store.delete('app/asked.dump');
    await store.delete('app/long.dump');
  });

  it('stopped: put and get fail retryably with StoreUnavailable naming the endpoint; after a restart the store works again', async () => {
    await store.put('app/kept.dump', 'kept');
    await server.kill();
    try {
      for (const attempt of [() => store.get('app/kept.dump'), () => store.put('app/never.dump', generatedStream(20 * MiB).stream), () => store.check()]) {
        const failure = await failureOf(attempt());
        assert.equal(failure.type, 'StoreUnavailable');
        assert.equal(failure.nonRetryable, false);
        assert.match(failure.message, new RegExp(`^S3 endpoint ${server.endpoint} unavailable \\(ECONNREFUSED\\) while .*; check that it runs and is reachable, and the endpoint \\(the store URL's \\?endpoint=, or AWS_ENDPOINT_URL_S3\\)$`));
      }
    } finally {
      await server.restart(); // the next tests need it, whatever failed here
    }
    await store.check();
    assert.equal(await store.getText('app/kept.dump'), 'kept');
    const keys = (await store.list('app/')).map((o) => o.key);
    assert.ok(keys.includes('app/kept.dump') && !keys.includes('app/never.dump'), keys.join());
  });

  it('a download cut off mid-way fails the stream with StoreUnavailable', async () => {
    await store.put('app/big.dump', generatedStream(48 * MiB).stream);
    const body = await store.get('app/big.dump');
    let received = 0;
    const failure = await (async () => {
      try {
        for await (const chunk of body) {
          received += (chunk as Buffer).length;
          if (received >= 8 * MiB && received - (chunk as Buffer).length < 8 * MiB) server.pause();
        }
        return assert.fail('expected the download to fail');
      } catch (err) {
        return err;
      } finally {
        server.resume();
      }
    })();
    assert.ok(failure instanceof ApplicationFailure, String(failure));
    assert.equal(failure.type, 'StoreUnavailable');
    assert.ok(received < 48 * MiB);
    await store.delete('app/big.dump');
  });
});
