/**
 * Streams one object into S3 as a multipart upload: invisible until completed, aborted on any
 * failure or on the caller's AbortSignal, so a failed put leaves nothing that a listing returns.
 *
 * Written on the SDK's own commands rather than lib-storage's Upload, for two measured reasons:
 * - Memory churn. Upload keeps the source's chunks until a part is full, then copies them into a
 *   new buffer per part (Buffer.concat). In the worker (a 1 MB young generation, see
 *   bin/pgkeeper-worker) those megabytes outlive two scavenges, are promoted, and only full
 *   mark-compacts free them: ~18 per 100 MB uploaded, most of the S3 path's extra worker CPU.
 *   Here each upload allocates QUEUE_SIZE + 1 part buffers once and copies every chunk into the
 *   part being filled at once, so chunks die young and nothing large is allocated per part.
 *   bench/s3-store.ts, 300 MiB to versitygw: 2.4 -> 1.2 CPU-s, 133 -> 200 MiB/s, 163 -> 131 MiB RSS.
 * - Cancellation. Upload sends UploadPart without an AbortSignal, so aborting it waited for every
 *   part in flight (for ever, against a stopped server); here every data request carries one.
 *
 * Memory: (QUEUE_SIZE + 1) × the part size, however long the stream. S3 allows 10,000 parts, so
 * the part size follows the caller's estimate of the object's size (partSizeFor): S3's minimum of
 * 5 MiB for estimates up to ~24 GiB, more above (so memory grows for very large databases); 8 MiB
 * (78 GiB at most) when nothing is known.
 */
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/errors.js';
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
/** Parts sent at once; one more is filled meanwhile. */
export const QUEUE_SIZE = 2;

/** Parts for an object of about `expectedBytes`: the fewest MiB that fit it in half of S3's parts. */
export function partSizeFor(expectedBytes: number | undefined): number {
  if (!expectedBytes || !Number.isFinite(expectedBytes)) return DEFAULT_PART_BYTES;
  return Math.min(MAX_PART_BYTES, Math.max(MIN_PART_BYTES, Math.ceil((expectedBytes * 2) / MAX_PARTS / MiB) * MiB));
}

/** A chunk as bytes: Readable.from and setEncoding can give strings, Readable.from(Uint8Array[]) Uint8Arrays. */
function bytesOf(data: Buffer | Uint8Array | string, encoding: BufferEncoding | null): Buffer {
  if (typeof data === 'string') return Buffer.from(data, encoding ?? 'utf8');
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A failed request, kept apart from the source's own errors (which are rethrown as they are). */
class StoreError {
  constructor(readonly cause: unknown) {}
}

export async function uploadStream(client: S3Client, settings: S3Settings, key: string, body: Readable, { signal, expectedBytes }: PutOptions = {}): Promise<number> {
  const partSize = partSizeFor(expectedBytes);
  const target = { Bucket: settings.bucket, Key: settings.prefix + key };
  // Aborts the data requests in flight: on the caller's signal, or when one part has failed.
  const stop = new AbortController();
  const onAbort = (): void => {
    stop.abort(signal?.reason);
    body.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();

  // A request to S3: its failure is told apart from the source's (StoreError).
  const request = async <T>(send: () => Promise<T>): Promise<T> => {
    try {
      return await send();
    } catch (err) {
      throw new StoreError(err);
    }
  };

  let uploadId: string | undefined;
  let storeFailure: StoreError | undefined;
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  const spare: Buffer[] = [];
  let sentParts = 0;

  const sendPart = async (buffer: Buffer, length: number, partNumber: number): Promise<void> => {
    if (partNumber > MAX_PARTS) {
      throw ApplicationFailure.nonRetryable(
        `${key} is larger than an S3 multipart upload of ${MAX_PARTS} parts of ${partSize / MiB} MiB allows (the estimate of its size was ${expectedBytes ?? 'missing'})`,
        FailureType.StoreFailed,
      );
    }
    if (uploadId === undefined) {
      // No signal: once S3 has made the upload, its id must be known so that it can be aborted.
      const checksums = await client.config.requestChecksumCalculation();
      const created = await request(() =>
        client.send(new CreateMultipartUploadCommand({ ...target, ContentType: 'application/octet-stream', ...(checksums === 'WHEN_SUPPORTED' && { ChecksumAlgorithm: ChecksumAlgorithm.CRC32 }) })),
      );
      uploadId = created.UploadId;
      stop.signal.throwIfAborted();
    }
    // At most QUEUE_SIZE parts in flight: a full part waits here, and the source with it.
    while (inFlight.size >= QUEUE_SIZE) await Promise.race(inFlight);
    if (storeFailure) throw storeFailure;
    stop.signal.throwIfAborted();
    const sent = request(() =>
      client.send(new UploadPartCommand({ ...target, UploadId: uploadId, PartNumber: partNumber, Body: buffer.subarray(0, length) }), { abortSignal: stop.signal }),
    )
      .then(({ ETag, ChecksumCRC32 }) => {
        if (!ETag) throw new StoreError(new Error(`S3 answered part ${partNumber} without an ETag`));
        parts.push({ PartNumber: partNumber, ETag, ...(ChecksumCRC32 && { ChecksumCRC32 }) });
        spare.push(buffer);
      })
      .catch((err: unknown) => {
        if (stop.signal.aborted) return; // stopped for another reason, which is the one to report
        storeFailure = err instanceof StoreError ? err : new StoreError(err);
        stop.abort(storeFailure.cause);
        // Whatever feeds the source (pg_dump's stdout) must stop rather than block on it.
        body.destroy();
      })
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    sentParts++;
  };

  let sizeBytes = 0;
  try {
    let part: Buffer = Buffer.allocUnsafe(partSize);
    let filled = 0;
    let partNumber = 1;
    for await (const data of body as AsyncIterable<Buffer | Uint8Array | string>) {
      const chunk = bytesOf(data, body.readableEncoding);
      for (let offset = 0; offset < chunk.length; ) {
        const copied = chunk.copy(part, filled, offset);
        filled += copied;
        offset += copied;
        if (filled === partSize) {
          await sendPart(part, filled, partNumber++);
          part = spare.pop() ?? Buffer.allocUnsafe(partSize);
          filled = 0;
        }
      }
      sizeBytes += chunk.length;
    }
    stop.signal.throwIfAborted();
    if (uploadId === undefined) {
      // Smaller than one part: a single PutObject, visible whole or not at all.
      await request(() => client.send(new PutObjectCommand({ ...target, ContentType: 'application/octet-stream', Body: part.subarray(0, filled) }), { abortSignal: stop.signal }));
    } else {
      if (filled > 0) await sendPart(part, filled, partNumber);
      await Promise.all(inFlight);
      if (storeFailure) throw storeFailure;
      // A part cancelled by the caller's abort fails quietly: completing now would publish the
      // object without it (S3 accepts gaps in part numbers).
      stop.signal.throwIfAborted();
      if (parts.length !== sentParts) throw new Error(`S3 acknowledged ${parts.length} of the ${sentParts} parts sent for ${key}`);
      parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
      // No signal either: an abort while S3 completes is handled below, by deleting the object.
      await request(() => client.send(new CompleteMultipartUploadCommand({ ...target, UploadId: uploadId, MultipartUpload: { Parts: parts } })));
    }
  } catch (err) {
    stop.abort(err);
    body.destroy();
    await Promise.allSettled(inFlight);
    if (uploadId !== undefined) {
      // One idle timeout for the clean-up: a healthy server answers at once, and what a stalled one
      // leaves is removed by retention's sweep of unfinished uploads.
      await client.send(new AbortMultipartUploadCommand({ ...target, UploadId: uploadId }), { abortSignal: AbortSignal.timeout(settings.idleTimeoutMs) }).catch(() => undefined);
    }
    // The store failed first: that is the cause, even when the caller has aborted since, because
    // the stream this upload tore down made a tool fail (zstd's write reset, say).
    if (!storeFailure) signal?.throwIfAborted();
    const failure = storeFailure ?? err;
    throw failure instanceof StoreError ? s3Failure(settings, { doing: 'writing', key }, failure.cause) : failure;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) {
    // The abort came while the upload completed: the caller gave up on this object, so it goes
    // (best effort: if the store fails now too, the abort is still what the caller hears of).
    await client.send(new DeleteObjectCommand(target)).catch(() => undefined);
    signal.throwIfAborted();
  }
  return sizeBytes;
}
