/**
 * The restore direction of the archive stream: the store's object, hashed as it arrives, through
 * the inverse filter chain (age -d, then zstd -d), into `sink` (a local scratch file: pg_restore -j
 * needs a seekable file). The stored bytes and, for an encrypted archive, the decrypted ones are
 * compared with what the manifest recorded; a mismatch is a non-retryable failure, raised before
 * anything uses what was written.
 */
import { createWriteStream } from 'node:fs';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/errors.js';
import type { FilterStep } from '../../common/filters.js';
import { requireIdentityFor } from '../encryption.js';
import type { BackupStore } from '../store/store.js';
import { inverseTool } from './filter-tools.js';
import { Rank, StreamRun } from './stream-run.js';
import { measureTap, type Measured } from './taps.js';
import { requireFilterTools } from './tool-check.js';
import { startTool, toolStage } from './tool-process.js';

export interface FetchRequest {
  store: BackupStore;
  key: string;
  /** For messages: the backup id or key. */
  label: string;
  filters: FilterStep[];
  identityFile: string | undefined;
  /** What the manifest (or sidecar) promises; null sha256: nothing to compare with. */
  expected: { sizeBytes: number; sha256: string | null; plaintext: { sizeBytes: number; sha256: string } | null };
}

function mismatch(req: FetchRequest, what: string, actual: Measured, expected: { sizeBytes: number; sha256: string }): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `${req.label} in ${req.store.url} does not match its manifest: the ${what} are ${actual.sizeBytes} bytes, sha256 ${actual.sha256.slice(0, 16)}…; expected ${expected.sizeBytes} bytes, ` +
      `${expected.sha256.slice(0, 16)}…. It is damaged or was changed; restore another backup (pgkeeper backups lists them)`,
    FailureType.ChecksumMismatch,
  );
}

/**
 * Streams the archive into `into` (a file, emptied or created 0600, or a stream); `onBytes`
 * counts stored bytes as they arrive (for progress). Into a file, the last tool of the chain
 * (zstd -d) writes the file itself: the decompressed archive, the bulk of the bytes, never passes
 * through this process.
 */
export async function fetchArchive(req: FetchRequest, into: { file: string } | Writable, cancel: AbortSignal, onBytes: (n: number) => void): Promise<void> {
  await requireFilterTools(req.filters);
  // A globals backup is not checked earlier (resolveBackup checks database backups).
  const listed = await requireIdentityFor(req.filters, req.identityFile, req.label);
  // Asked for before any tool starts: a store that cannot hand the archive over (and a restore then
  // reads a copy) leaves no zstd or age behind waiting on its stdin.
  const source = await req.store.get(req.key, { signal: cancel });
  const run = new StreamRun(cancel);
  const stored = measureTap(true);
  const progress = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      onBytes(chunk.length);
      next(null, chunk);
    },
  });
  const stages: NodeJS.ReadWriteStream[] = [stored, progress];
  const dones: Promise<string>[] = [];
  const plaintext = req.expected.plaintext ? measureTap(true) : undefined;
  const inverse = [...req.filters].reverse();
  let sink: NodeJS.WritableStream | undefined = 'file' in into ? undefined : into;
  try {
    inverse.forEach((step, i) => {
      const tapped = step.filter === 'age' && plaintext;
      if (i === inverse.length - 1 && !sink && !tapped) {
        const tool = startTool(run, { ...inverseTool(step, req.identityFile, req.label, listed), stdoutFile: (into as { file: string }).file }, 'pipe');
        sink = tool.stdin;
        dones.push(tool.done);
        return;
      }
      const { stage, done } = toolStage(run, inverseTool(step, req.identityFile, req.label, listed));
      stages.push(stage);
      dones.push(done);
      if (tapped) stages.push(plaintext);
    });
  } catch (err) {
    // No identity to decrypt with, say: nothing may stay open, no tool already started may stay running.
    source.destroy();
    run.fail(err);
    await Promise.allSettled(dones);
    throw err;
  }
  sink ??= createWriteStream((into as { file: string }).file, { mode: 0o600 }); // no filter to write it: this process does
  // The store going away mid-download is the cause; the decompressor then failing on the cut input follows from it.
  source.on('error', (err: unknown) => run.fail(err, Rank.Store));
  const piping = pipeline([source, ...stages, sink], { signal: run.signal }).catch((err: unknown) => run.fail(err));
  await run.settle([piping, ...dones]).catch((err: unknown) => {
    // The tool's words say what is wrong, not with what: name the backup and the store it was read from.
    if (err instanceof ApplicationFailure && err.type === FailureType.CorruptArchive) {
      throw ApplicationFailure.nonRetryable(`${req.label} in ${req.store.url}: ${err.message}`, FailureType.CorruptArchive);
    }
    throw err;
  });
  const got = stored.result();
  if (got.sizeBytes !== req.expected.sizeBytes || (req.expected.sha256 !== null && got.sha256 !== req.expected.sha256)) {
    throw mismatch(req, 'stored bytes', got, { sizeBytes: req.expected.sizeBytes, sha256: req.expected.sha256 ?? got.sha256 });
  }
  if (plaintext && req.expected.plaintext && plaintext.result().sha256 !== req.expected.plaintext.sha256) {
    throw mismatch(req, 'decrypted bytes', plaintext.result(), req.expected.plaintext);
  }
}
