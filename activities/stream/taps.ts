/**
 * Taps: stages that watch the bytes going by without changing them. Hashing and counting run in
 * this process (SHA-256 in Node is faster than coreutils' sha256sum), on the bytes that pass
 * through it anyway: the compressed (and encrypted) archive on its way to the store.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

export interface Measured {
  sizeBytes: number;
  sha256: string;
}

/** Counts (and with `hash`, hashes) what passes; `bytes()` any time, `result()` after the stream ended. */
export function measureTap(hash: boolean): Transform & { bytes(): number; result(): Measured } {
  const digest = hash ? createHash('sha256') : undefined;
  let sizeBytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      sizeBytes += chunk.length;
      digest?.update(chunk);
      next(null, chunk);
    },
  });
  let sha256: string | undefined;
  return Object.assign(tap, {
    bytes: () => sizeBytes,
    result: () => ({ sizeBytes, sha256: (sha256 ??= digest ? digest.digest('hex') : '') }),
  });
}

/** Holds the end of the stream until `checks` pass: what follows (the store) completes only for a verified stream. */
export function gate(checks: () => Promise<unknown>): Transform {
  return new Transform({
    transform: (chunk, _encoding, next) => next(null, chunk),
    flush: (next) => void checks().then(() => next(), (err: Error) => next(err)),
  });
}
