/**
 * The storage seam: the only way pgkeeper reads or writes backup objects. One interface, one
 * driver per kind of store (posix directory, S3-compatible bucket), in the spirit of pgBackRest's
 * StorageInterface. Callers never touch `fs` or S3 themselves.
 *
 * Keys are relative, '/'-separated and the same on every store:
 *   <database>/<backup id>.dump[.zst][.age]   the archive as stored
 *   <database>/<archive>.sha256               sha256sum -c sidecar of the stored bytes
 *   <database>/<backup id>.manifest.json      written last: the backup is complete
 * so a bucket copied to a disk with any S3 tool is a backup directory, and back.
 */
import type { Readable } from 'node:stream';

export interface StoredObject {
  key: string;
  sizeBytes: number;
  /** Last modification (posix mtime, S3 LastModified), epoch ms. */
  modifiedMs: number;
}

export interface PutOptions {
  /** Aborting stops the write; nothing is left that `list` would return. */
  signal?: AbortSignal;
  /**
   * A generous estimate of a streamed body's size, when one is known: S3 sizes its multipart parts
   * so that the object fits S3's 10,000 of them (small parts for small backups keep memory low).
   */
  expectedBytes?: number;
}

export interface BackupStore {
  /** `file:///var/backups/pgkeeper` or `s3://bucket/prefix`: never credentials, safe to log and show. */
  readonly url: string;
  readonly kind: 'file' | 's3';

  /**
   * Streams `body` into `key`. The object becomes visible (to get, stat, list) only once it is
   * complete: posix writes `<key>.partial` then renames; S3 completes a multipart upload. On error
   * or abort nothing visible is left (an S3 upload is aborted; a posix partial removed).
   */
  put(key: string, body: Readable | Buffer | string, options?: PutOptions): Promise<{ sizeBytes: number }>;
  /** The object's bytes as a stream; a missing object is a non-retryable BackupNotFound failure. */
  get(key: string, options?: { signal?: AbortSignal }): Promise<Readable>;
  /** A small object (manifest, sidecar, marker) as text; undefined when it does not exist. */
  getText(key: string): Promise<string | undefined>;
  stat(key: string): Promise<StoredObject | undefined>;
  /**
   * The object at `key` as list() describes it, or undefined: for comparing with a listing (an S3
   * HEAD dates an object to the second, a listing to the millisecond). A file store stats the one
   * file, where a listing of its folder reads every entry of the directory.
   */
  statAsListed(key: string): Promise<StoredObject | undefined>;
  /** Every complete object whose key starts with `prefix`, recursively, in no particular order. */
  list(prefix: string): Promise<StoredObject[]>;
  /** The next path segments below `prefix` (`""` for the top): the databases of a store. */
  listFolders(prefix: string): Promise<string[]>;
  /** Idempotent: a missing object is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Removes unfinished writes (posix `.partial` files, S3 multipart uploads never completed) that
   * started more than `olderThanMs` ago, of keys starting with `prefix` (default: all); returns their
   * keys. With `dryRun`, removes nothing and returns the keys it would remove.
   */
  sweepUnfinished(olderThanMs: number, prefix?: string, options?: { dryRun?: boolean }): Promise<string[]>;
  /** Proves the store is reachable and writable with the configured credentials, or fails with one line naming what to fix. */
  check(): Promise<void>;
}
