/**
 * Streams one object into S3 as a multipart upload (lib-storage's Upload): invisible until
 * completed, aborted on any failure or on the caller's AbortSignal, so a failed put leaves nothing
 * that a listing returns.
 *
 * Memory: Upload holds up to QUEUE_SIZE parts in flight plus the one it is filling, each
 * PART_SIZE_BYTES, so about (QUEUE_SIZE + 1) × PART_SIZE_BYTES whatever the size of the stream.
 * 10,000 parts of 16 MiB allow a 156 GiB archive.
 */
import { type Readable, Transform } from 'node:stream';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { inUploadScope, outsideUploadScope, type UploadScope } from './s3-client.js';
import { s3Failure } from './s3-failure.js';
import type { S3Settings } from './s3-settings.js';

export const PART_SIZE_BYTES = 16 * 1024 * 1024;
export const QUEUE_SIZE = 2;

export async function uploadStream(client: S3Client, settings: S3Settings, key: string, body: Readable, signal?: AbortSignal): Promise<number> {
  const action = { doing: 'writing', key };
  let sizeBytes = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sizeBytes += chunk.length;
      callback(null, chunk);
    },
  });
  let sourceError: unknown;
  let storeError: unknown;
  // An error of the source reaches the upload through `counted`; a failed upload destroys the
  // source, so whatever feeds it (pg_dump's stdout) stops rather than blocking.
  body.on('error', (err) => {
    sourceError ??= err;
    counted.destroy(err);
  });
  body.pipe(counted);
  const cancel = new AbortController();
  const scope: UploadScope = {
    signal: cancel.signal,
    failed: (err: unknown) => {
      if (cancel.signal.aborted) return;
      storeError = err;
      stop(err);
    },
  };
  const stop = (reason: unknown): void => {
    if (cancel.signal.aborted) return;
    cancel.abort(reason);
    // One idle timeout for the AbortMultipartUpload: a healthy server answers at once.
    scope.cleanup = AbortSignal.timeout(settings.idleTimeoutMs);
    const err = reason instanceof Error ? reason : new Error('upload stopped');
    counted.destroy(err);
    body.destroy(err);
  };
  const onAbort = (): void => stop(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();

  const fullKey = settings.prefix + key;
  try {
    const upload = new Upload({
      client,
      params: { Bucket: settings.bucket, Key: fullKey, Body: counted, ContentType: 'application/octet-stream' },
      partSize: PART_SIZE_BYTES,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    await inUploadScope(scope, () => upload.done());
  } catch (err) {
    signal?.throwIfAborted();
    if (storeError !== undefined) throw s3Failure(settings, action, storeError);
    if (sourceError !== undefined) throw sourceError;
    throw s3Failure(settings, action, err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) {
    // The abort came while the upload completed: the caller gave up on this object, so it goes.
    await outsideUploadScope(() => client.send(new DeleteObjectCommand({ Bucket: settings.bucket, Key: fullKey })));
    signal.throwIfAborted();
  }
  return sizeBytes;
}
