/**
 * File stores that are one directory, or one inside another, under paths that do not say so: a
 * bind mount (`mount --bind /backups /mnt/copy`) or a second mount of the same file system. The
 * check by name and the one through symbolic links cannot see it, and a copy there is no copy:
 * one disk lost takes both. Told apart by what the kernel says a directory is (device and inode).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { StoreSpec } from '../common/store-url.js';

type FileStore = Extract<StoreSpec, { kind: 'file' }>;

async function identity(dir: string): Promise<string | undefined> {
  const found = await fs.stat(dir).catch(() => undefined);
  return found ? `${found.dev}:${found.ino}` : undefined;
}

/** `real`: the stores with symbolic links resolved. One problem per pair of stores found to be one, or nested. */
export async function sharedDirectoryProblems(real: readonly StoreSpec[]): Promise<string[]> {
  const files = real.filter((s): s is FileStore => s.kind === 'file');
  const roots = await Promise.all(files.map((s) => identity(s.path)));
  const problems = new Set<string>();
  for (const [i, inner] of files.entries()) {
    // The store's directory, then each directory above it, against every other store's directory.
    for (let dir = inner.path; ; dir = path.dirname(dir)) {
      const here = await identity(dir);
      const outer = here === undefined ? -1 : roots.findIndex((root, j) => j !== i && root === here);
      if (outer >= 0) {
        const other = files[outer]!;
        problems.add(
          dir === inner.path
            ? `invalid configuration: stores ${[inner.url, other.url].sort().join(' and ')} are one directory (a bind mount, or the same file system mounted twice): a copy there is no copy; give each store a directory of its own, a copy on another disk`
            : `invalid configuration: store ${inner.url} lies inside store ${other.url} (${dir} is that directory, mounted again): give each store a directory of its own, neither inside the other`,
        );
        break;
      }
      if (dir === path.dirname(dir)) break;
    }
  }
  return [...problems];
}
