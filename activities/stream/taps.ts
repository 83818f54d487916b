/**
 * Taps: stages that watch the bytes going by without changing them. Hashing and counting run in
 * this process (SHA-256 in Node is faster than coreutils' sha256sum); a feed hands a copy of every
 * chunk to another process (the read-through `pg_restore`), with backpressure, and stops feeding,
 * without failing the stream, if that process stops reading: its exit status is judged at the end.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

export interface Measured {
  sizeBytes: number;
  sha256: string;
}

/** Counts (and with `hash`, hashes) what passes; `result()` after the stream ended. */
export function measureTap(hash: boolean): Transform & { result(): Measured } {
  const digest = hash ? createHash('sha256') : undefined;
  let sizeBytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      sizeBytes += chunk.length;
      digest?.update(chunk);
      next(null, chunk);
    },
  });
  return Object.assign(tap, { result: () => ({ sizeBytes, sha256: digest ? digest.digest('hex') : '' }) });
}

/** Copies every chunk into `sink` (a tool's stdin) and ends it when the stream ends. */
export function feedTap(sink: NodeJS.WritableStream & { destroyed: boolean; writableEnded: boolean }): Transform {
  let gone = false;
  const stop = () => (gone = true);
  sink.on('error', stop);
  sink.on('close', stop);
  return new Transform({
    transform(chunk: Buffer, _encoding, next) {
      if (gone || sink.destroyed || sink.write(chunk)) {
        next(null, chunk);
        return;
      }
      // Wait for the sink to drain, or to go away (it exited, or stopped reading): never hang the stream on it.
      const resume = () => {
        sink.off('drain', resume);
        sink.off('close', resume);
        next(null, chunk);
      };
      sink.once('drain', resume);
      sink.once('close', resume);
    },
    flush(next) {
      if (!gone && !sink.writableEnded) sink.end();
      next();
    },
  });
}

/** Holds the end of the stream until `checks` pass: what follows (the store) completes only for a verified stream. */
export function gate(checks: () => Promise<unknown>): Transform {
  return new Transform({
    transform: (chunk, _encoding, next) => next(null, chunk),
    flush: (next) => void checks().then(() => next(), (err: Error) => next(err)),
  });
}
