/**
 * Streams one object into S3 as a multipart upload (lib-storage's Upload): invisible until
 * completed, aborted on any failure or on the caller's AbortSignal, so a failed put leaves nothing
 * that a listing returns.
 *
 * Memory: Upload holds QUEUE_SIZE parts in flight and fills the next one from a list of chunks that
 * it then copies into one buffer (Buffer.concat), so up to about (QUEUE_SIZE + 3) × the part size,
 * however long the stream (the part size grows with very large objects, see below). Measured (bench/s3-store.ts, 64 KiB source chunks): ~53 MiB of
 * ArrayBuffers at peak for 8 MiB × 2, ~40 for 5 MiB × 2, 70-100 for 16 MiB × 2, with throughput to a
 * local server within noise of each other. S3 allows 10,000 parts, so the part size follows the
 * caller's estimate of the object's size (partSizeFor): S3's minimum of 5 MiB for estimates up to
 * ~24 GiB, more above; 8 MiB (78 GiB at most) when nothing is known.
 */
import { type Readable, Transform } from 'node:stream';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/errors.js';
import { inUploadScope, outsideUploadScope, type UploadScope } from './s3-client.js';
import { s3Failure } from './s3-failure.js';
import type { S3Settings } from './s3-settings.js';
import type { PutOptions } from './store.js';

const MiB = 1024 * 1024;
/** S3's smallest part (but the last) and its largest. */
const MIN_PART_BYTES = 5 * MiB;
const MAX_PART_BYTES = 5 * 1024 * MiB;
/** When the caller gives no estimate. */
export const DEFAULT_PART_BYTES = 8 * MiB;
const MAX_PARTS = 10_000;
export const QUEUE_SIZE = 2;

/** Parts for an object of about `expectedBytes`: the fewest MiB that fit it in half of S3's parts. */
export function partSizeFor(expectedBytes: number | undefined): number {
  if (!expectedBytes || !Number.isFinite(expectedBytes)) return DEFAULT_PART_BYTES;
  return Math.min(MAX_PART_BYTES, Math.max(MIN_PART_BYTES, Math.ceil((expectedBytes * 2) / MAX_PARTS / MiB) * MiB));
}

export async function uploadStream(client: S3Client, settings: S3Settings, key: string, body: Readable, { signal, expectedBytes }: PutOptions = {}): Promise<number> {
  const partSize = partSizeFor(expectedBytes);
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
      partSize,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    await inUploadScope(scope, () => upload.done());
  } catch (err) {
    // Whatever failed, the source is not read any further: its producer must not block on it.
    counted.destroy();
    body.destroy();
    signal?.throwIfAborted();
    if (storeError !== undefined) throw s3Failure(settings, action, storeError);
    if (sourceError !== undefined) throw sourceError;
    if (/Exceeded \d+ parts/.test((err as Error).message)) {
      // lib-storage's own limit check: the same stream would hit it again.
      throw ApplicationFailure.nonRetryable(
        `${key} is larger than an S3 multipart upload of ${MAX_PARTS} parts of ${partSize / MiB} MiB allows (the estimate of its size was ${expectedBytes ?? 'missing'})`,
        FailureType.StoreFailed,
      );
    }
    throw s3Failure(settings, action, err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) {
    // The abort came while the upload completed: the caller gave up on this object, so it goes
    // (best effort: if the store fails now too, the abort is still what the caller hears of).
    await outsideUploadScope(() => client.send(new DeleteObjectCommand({ Bucket: settings.bucket, Key: fullKey }))).catch(() => undefined);
    signal.throwIfAborted();
  }
  return sizeBytes;
}
