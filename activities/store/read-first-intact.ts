/**
 * Reading a backup's archive from the first store that holds it intact: its own store first, then
 * its copies in turn, when the bytes turn out damaged (the manifest and sizes checked out, the
 * checksum or a filter did not) or the store cannot hand them over (down, access refused, the
 * object gone since the backup was found). The copy a restore needs most is the one read when the
 * primary rotted or went away. Each store passed over is named in a warning, and damage is
 * recorded where it was found, once proven (damage-record.ts).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { damageKey } from '../../common/backup-keys.js';
import { FailureType } from '../../common/errors.js';
import type { FilterStep } from '../../common/filters.js';
import { recordProvenDamage, type ArchiveExpected } from './damage-record.js';
import type { BackupStore } from './store.js';

/** A read that found the bytes damaged: another store's copy may be whole. */
export function damaged(err: unknown): err is ApplicationFailure {
  return err instanceof ApplicationFailure && (err.type === FailureType.ChecksumMismatch || err.type === FailureType.CorruptArchive);
}

/** The store could not hand the bytes over: a copy may. */
const STORE_FAILURES = new Set<string>([FailureType.StoreUnavailable, FailureType.StoreFailed, FailureType.StoreAccessDenied, FailureType.StoreMissing, FailureType.BackupNotFound]);
export function unreadable(err: unknown): err is ApplicationFailure {
  return err instanceof ApplicationFailure && STORE_FAILURES.has(err.type ?? '');
}

/** The S3 server's own checksum failed (s3-failure.ts), not pgkeeper's SHA-256 or a filter. */
function serverChecksum(err: ApplicationFailure): boolean {
  return err.type === FailureType.ChecksumMismatch && err.message.includes('the checksum stored with the object');
}

/** `failed` (an S3 server's checksum failing on `key`), for bytes that match their manifest: what is wrong and how to mend it. */
export function wrongServerChecksum(failed: string, store: BackupStore, key: string): string {
  return (
    `${failed.replace(/; the object is damaged in the store, or the checksum stored with it is wrong$/, '')}; yet its bytes, read again, match its manifest: the server holds a wrong checksum for intact bytes. ` +
    `Copy the object onto itself so that the server computes it afresh (aws s3 cp ${store.url}/${key} ${store.url}/${key} --checksum-algorithm CRC32)`
  );
}

/**
 * Archives whose intact bytes did not decode, by store and key, when: a second such failure within
 * the window (the activity's next attempt, usually on this worker) is the archive's, not a read's.
 */
const contentFaults = new Map<string, number>();
const CONTENT_FAULT_WINDOW_MS = 30 * 60_000;

function seenBefore(archive: string): boolean {
  const nowMs = Date.now();
  for (const [key, atMs] of contentFaults) if (nowMs - atMs > CONTENT_FAULT_WINDOW_MS) contentFaults.delete(key);
  const seen = contentFaults.has(archive);
  contentFaults.set(archive, nowMs);
  return seen;
}

/** zstd's and age's words for bytes that do not decode, and the plaintext checksum's. */
const CONTENT_FAULT = /doesn't match checksum|corrupt|unknown frame|header mac|failed to decrypt|authenticat|no identity matched|unexpected eof|truncated|decrypted bytes are/i;

/**
 * A read that failed on bytes a second read found intact (they match the manifest) and no other
 * store to read: nothing is damaged, nothing is recorded. A tool failing here (zstd, age) or a
 * garbled first read: retried. An S3 server holding a wrong checksum for right bytes: it will
 * fail the same way again, so said at once, with the way to mend it.
 */
function intactAfterAll(err: ApplicationFailure, store: BackupStore, key: string, filters: FilterStep[]): ApplicationFailure {
  const what = err.message.replace(/(?::|\.) (?:the archive is|It is) damaged or was changed; .*$/, '').replace(/; the object is damaged in the store, or the checksum stored with it is wrong$/, '');
  if (serverChecksum(err)) return ApplicationFailure.nonRetryable(`${wrongServerChecksum(what, store, key)}, or restore from another store`, FailureType.StoreFailed);
  // What zstd's frame checksum, age's authentication or the plaintext's SHA-256 finds twice in the
  // same bytes is in them, and they match the manifest: written so, or the manifest changed to match.
  // Any worker would find the same. Once may be a read garbled on its way (retried); a tool's own
  // fault (killed, not runnable) says other words.
  if (CONTENT_FAULT.test(err.message) && seenBefore(`${store.url}\0${key}`)) {
    return ApplicationFailure.nonRetryable(
      `${what}; yet its stored bytes in ${store.url}, read again, match its manifest: the archive was written so, or its manifest was changed to match it, and no worker can restore it. Restore another backup (\`pgkeeper backups\` lists them)`,
      FailureType.BackupDamaged,
    );
  }
  const tools = filters.map((f) => f.filter).join(' and ');
  return ApplicationFailure.retryable(
    `${what}; yet its stored bytes in ${store.url}, read again, match its manifest, so the backup is not damaged there: retried${tools ? ` (failing again, check ${tools} on this worker)` : ''}`,
    FailureType.PgToolFailed,
  );
}

export interface IntactRead {
  /** For messages: the backup id, or "globals backup <id>". */
  label: string;
  filters: FilterStep[];
  /** What its manifest recorded; undefined (a loose archive): nothing to prove damage against, nothing recorded. */
  archive: ArchiveExpected | undefined;
  /** Its store first, then the stores holding copies. */
  stores: BackupStore[];
}

/**
 * Runs `read` on each store in turn until one succeeds; returns that store and the warnings. When
 * none could be read, the failure is retried if a store's might be (one was down), else not.
 */
export async function readFirstIntact(target: IntactRead, read: (store: BackupStore) => Promise<void>, cancel: AbortSignal): Promise<{ store: BackupStore; warnings: string[] }> {
  const failed: ApplicationFailure[] = [];
  const recorded: string[] = [];
  for (const store of target.stores) {
    try {
      await read(store);
      // Read whole and verified: a damage record there (a store mended by hand since) is wrong now.
      if (target.archive) await store.delete(damageKey(target.archive.folder, target.archive.id)).catch(() => undefined);
      const passedOver = failed.map((err, i) => `${target.label} was read from ${store.url}, its copy in ${target.stores[i]!.url} ${damaged(err) ? 'being damaged' : 'not being readable'}: ${err.message}`);
      return { store, warnings: [...passedOver, ...recorded] };
    } catch (err) {
      if (damaged(err) && target.archive) {
        const found = await recordProvenDamage(store, target.archive, Context.current().info.workflowExecution, cancel);
        recorded.push(...found.warnings);
        // Its bytes are as written: every copy holds the same, so a tool's fault would repeat there;
        // a server's wrong checksum would not.
        const last = store === target.stores[target.stores.length - 1];
        if (found.verdict === 'intact' && (last || !serverChecksum(err))) throw intactAfterAll(err, store, target.archive.archiveKey, target.filters);
      } else if (!damaged(err) && !(unreadable(err) && target.stores.length > 1)) throw err;
      failed.push(err as ApplicationFailure);
    }
  }
  const [first, ...more] = failed;
  if (more.length === 0) throw first!;
  // The first store's failure leads the message; a store that may answer later makes it a retry.
  const retry = failed.find((f) => !f.nonRetryable);
  const note = [first, ...more].every(damaged) ? 'its copies are damaged too' : 'no other store could be read either';
  const message = `${first!.message} (${note}: ${more.map((f) => f.message).join('; ')})`;
  throw retry ? ApplicationFailure.retryable(message, retry.type) : ApplicationFailure.nonRetryable(message, first!.type);
}
