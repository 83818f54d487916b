/**
 * verifyChecksum: re-hash an archive with 1 MiB reads (twice the throughput of the default
 * 64 KiB stream chunks) and compare with the manifest, before any database is touched.
 */
import { Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { failure, rejectingInput } from './failures.js';
import { heartbeatEvery } from './heartbeat.js';
import { realPathInside } from './resolve-backup.js';

export interface ChecksumRequest {
  dumpPath: string;
  sha256: string;
  sizeBytes: number;
}

export async function sha256File(file: string, onBytes: (n: number) => void, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20, signal })) {
    hash.update(chunk as Buffer);
    onBytes((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

export async function verifyChecksum(config: Config, req: ChecksumRequest): Promise<void> {
  const file = await rejectingInput(config, () => realPathInside(config, req.dumpPath));
  const ctx = Context.current();
  let bytes = 0;
  const stopHeartbeat = heartbeatEvery(1_000, () => ({ phase: 'verifying checksum', bytes, totalBytes: req.sizeBytes }));
  try {
    const actual = await sha256File(file, (n) => (bytes += n), ctx.cancellationSignal);
    if (actual !== req.sha256 || bytes !== req.sizeBytes) {
      throw failure(
        config,
        FailureType.ChecksumMismatch,
        `archive ${file} does not match its manifest (sha256 ${actual.slice(0, 16)}…, ${bytes} bytes; expected ${req.sha256.slice(0, 16)}…, ${req.sizeBytes} bytes): ` +
          'it is damaged or was changed; restore another backup (pgkeeper backups lists them)',
      );
    }
  } catch (err) {
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    throw err;
  } finally {
    stopHeartbeat();
  }
}
