/**
 * The posix driver: a directory on a local or mounted file system. Writes go to a uniquely named
 * `<key>.<random>.partial` file, are fsynced, renamed into place and the directory fsynced, so a
 * reader sees nothing or the whole object, also after a crash. Keys never leave the root: every
 * key is checked, and reads refuse symlinks that point outside it.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/errors.js';
import type { BackupStore, PutOptions, StoredObject } from './store.js';
import { assertStorePrefix, checkKey } from './store-key.js';
import { makeDirectories } from '../make-directories.js';
import { mapWithConcurrency } from '../../common/map-with-concurrency.js';

const PARTIAL = /\.[0-9a-f]{12}\.partial$/;
/** Files stat'ed at once while listing (libuv runs four at a time; more keeps its queue full). */
const STATS_AT_ONCE = 32;

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

/**
 * `variable`: the setting that names the store, said in messages about what to change. `makeRoot`:
 * the start-up check may make the root (the default store's, which nothing else can hold); any
 * other root is made by a person, once the disk it belongs on is mounted.
 */
export function openPosixStore(root: string, variable = 'BACKUP_STORE/BACKUP_DIR', { makeRoot = false } = {}): BackupStore {
  const url = `file://${root}`;
  const fileOf = (key: string) => path.join(root, ...checkKey(key).split('/'));
  const keyOf = (file: string) => path.relative(root, file).split(path.sep).join('/');

  /** Failures that name the store and what to do; anything else passes through (and is retried). */
  const failure = (err: unknown, doing: string): unknown => {
    if (err instanceof ApplicationFailure) return err;
    switch (code(err)) {
      case 'ENOSPC':
      case 'EDQUOT':
        return ApplicationFailure.nonRetryable(`no space left on device while ${doing} in ${url}; free space there or point ${variable} at a larger disk`, FailureType.DiskFull);
      case 'EROFS':
        return ApplicationFailure.nonRetryable(`${url} is on a read-only file system (${doing}); mount it writable for the worker, or change ${variable}`, FailureType.StoreAccessDenied);
      case 'EACCES':
      case 'EPERM':
        return ApplicationFailure.nonRetryable(`permission denied while ${doing} in ${url}; let the worker's user write there, or change ${variable}`, FailureType.StoreAccessDenied);
      default:
        return err;
    }
  };

  /**
   * A folder that is not there holds nothing; a store whose root is not there is not answering (a
   * disk not mounted, a path moved): said, so a listing does not read it as a store with no backups.
   */
  async function missing(err: unknown): Promise<never[]> {
    if (code(err) !== 'ENOENT' && code(err) !== 'ENOTDIR') throw failure(err, 'listing');
    await rootThere();
    return [];
  }

  /**
   * Throws unless the root is there. Checked where a file is not found (it is gone, or the whole
   * store is) and before a write. Never made by a write, nor (but the default store's) by the
   * start-up check: that would put backups under an unmounted disk's mount point and hide the others.
   */
  async function rootThere(): Promise<void> {
    if (await fs.stat(root).then((st) => st.isDirectory(), () => false)) return;
    throw ApplicationFailure.retryable(
      `${url} is not there (${root} is no directory: a disk not mounted, a path moved, or not made yet?); mount it, make it (mkdir -p ${root}), or change ${variable}`,
      FailureType.StoreUnavailable,
    );
  }

  async function stat(key: string): Promise<StoredObject | undefined> {
    const file = await realFile(key);
    const found = file ? await fs.stat(file).catch(() => undefined) : undefined;
    if (found?.isFile()) return { key, sizeBytes: found.size, modifiedMs: found.mtimeMs };
    await rootThere();
    return undefined;
  }

  /** The real path of `key`, refused when a symlink takes it outside the root. */
  async function realFile(key: string): Promise<string | undefined> {
    const file = fileOf(key);
    let real: string;
    try {
      real = await fs.realpath(file);
    } catch (err) {
      if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return undefined;
      throw failure(err, `reading ${key}`);
    }
    const realRoot = await fs.realpath(root).catch(() => root);
    if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
      throw ApplicationFailure.nonRetryable(`${key} in ${url} is a link to a file outside the store; pgkeeper reads nothing outside it`, FailureType.InvalidInput);
    }
    return real;
  }

  async function syncDir(dir: string): Promise<void> {
    const handle = await fs.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Files under `dir` whose keys start with `prefix`; only those are stat'ed (one backup's keys in a folder of thousands). */
  async function walk(dir: string, out: StoredObject[], prefix: string): Promise<void> {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(missing);
    const files: { file: string; key: string }[] = [];
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      const key = keyOf(file);
      if (entry.isDirectory()) {
        if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(file, out, prefix);
      } else if (entry.isFile() && !PARTIAL.test(entry.name) && key.startsWith(prefix)) {
        files.push({ file, key });
      }
    }
    // Many at once: one after another, a folder of thousands of backups took seconds to list.
    const stats = await mapWithConcurrency(files, STATS_AT_ONCE, ({ file }) =>
      fs.stat(file).catch((err: unknown) => {
        if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return undefined;
        throw failure(err, 'listing'); // unreadable is not gone: the backup would read as missing a file
      }),
    );
    // A file gone since the folder was read was deleted (retention), unless the whole store went
    // with it (a path moved, a disk unmounted from above the root): then the listing is not short,
    // it failed. (A root that is itself the mount point stays there, empty: the README says to
    // put the store below one.)
    if (stats.includes(undefined)) await rootThere();
    stats.forEach((stat, i) => stat && out.push({ key: files[i]!.key, sizeBytes: stat.size, modifiedMs: stat.mtimeMs }));
  }

  return {
    url,
    kind: 'file',

    async put(key: string, body: Readable | Buffer | string, options?: PutOptions): Promise<{ sizeBytes: number }> {
      const file = fileOf(key);
      const partial = `${file}.${randomBytes(6).toString('hex')}.partial`;
      try {
        await rootThere();
        await makeDirectories(path.dirname(file), 0o750);
        // Backups hold the whole database (or role password hashes): readable by the worker's user and group only.
        const out = createWriteStream(partial, { mode: 0o640, highWaterMark: 1 << 20 });
        const source = typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body;
        await pipeline(source, out, options?.signal ? { signal: options.signal } : {});
        const handle = await fs.open(partial, 'r');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        const { size } = await fs.stat(partial);
        await fs.rename(partial, file);
        await syncDir(path.dirname(file));
        return { sizeBytes: size };
      } catch (err) {
        // A body nobody reads any more (the directory could not be made, say) must not hold its writer up.
        if (body instanceof Readable) body.destroy();
        await fs.rm(partial, { force: true });
        throw failure(err, `writing ${key}`);
      }
    },

    async get(key: string, options?: { signal?: AbortSignal }): Promise<Readable> {
      const file = await realFile(key);
      if (!file) {
        await rootThere();
        throw ApplicationFailure.nonRetryable(`${key} does not exist in ${url}`, FailureType.BackupNotFound);
      }
      // 1 MiB reads: twice the hashing throughput of the default 64 KiB chunks.
      return createReadStream(file, { highWaterMark: 1 << 20, ...(options?.signal ? { signal: options.signal } : {}) });
    },

    async getText(key: string): Promise<string | undefined> {
      const file = await realFile(key);
      try {
        if (file) return await fs.readFile(file, 'utf8');
      } catch (err) {
        if (code(err) !== 'ENOENT') throw failure(err, `reading ${key}`);
      }
      await rootThere();
      return undefined;
    },

    stat,

    statAsListed(key: string): Promise<StoredObject | undefined> {
      return stat(key); // a listing dates files exactly as stat does
    },

    async list(prefix: string): Promise<StoredObject[]> {
      const out: StoredObject[] = [];
      const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
      await walk(folder ? fileOf(folder) : root, out, prefix);
      return out;
    },

    async listFolders(prefix: string): Promise<string[]> {
      const dir = prefix ? fileOf(prefix.replace(/\/$/, '')) : root;
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch(missing);
      return entries.filter((e) => e.isDirectory()).map((e) => e.name);
    },

    async delete(key: string): Promise<void> {
      try {
        await fs.unlink(fileOf(key));
      } catch (err) {
        if (code(err) !== 'ENOENT') throw failure(err, `deleting ${key}`);
        await rootThere(); // gone with the whole store is not deleted
      }
    },

    async sweepUnfinished(olderThanMs: number, prefix = '', { dryRun = false } = {}): Promise<string[]> {
      assertStorePrefix(prefix);
      const removed: string[] = [];
      const visit = async (dir: string): Promise<void> => {
        for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
          const file = path.join(dir, entry.name);
          if (entry.isDirectory()) await visit(file);
          else if (PARTIAL.test(entry.name) && keyOf(file).startsWith(prefix)) {
            const stat = await fs.stat(file).catch(() => undefined);
            if (stat && Date.now() - stat.mtimeMs > olderThanMs) {
              if (!dryRun) await fs.rm(file, { force: true });
              removed.push(keyOf(file));
            }
          }
        }
      };
      await visit(prefix.includes('/') ? fileOf(prefix.slice(0, prefix.lastIndexOf('/'))) : root);
      return removed;
    },

    async check(): Promise<void> {
      // A path through a file is a mistake to refuse (below); a root merely missing is not there.
      const found = await fs.stat(root).catch((err: unknown) => (code(err) === 'ENOENT' ? undefined : null));
      if (found === undefined && !makeRoot) await rootThere();
      try {
        if (makeRoot) await makeDirectories(root, 0o750);
        else if (found && !found.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
        await fs.access(root, fs.constants.W_OK);
      } catch (err) {
        const known = failure(err, 'opening the store');
        if (known instanceof ApplicationFailure) throw known;
        throw ApplicationFailure.nonRetryable(
          `cannot use ${url} as the store (${code(err) ?? (err as Error).message}); create that directory, or point ${variable} at one the worker can write`,
          FailureType.StoreMissing,
        );
      }
    },
  };
}
