/**
 * File stores that are one directory, or one inside another, under paths that do not say so: a
 * bind mount (`mount --bind /backups /mnt/copy`, or Docker's `-v /srv/b:/backups -v /srv/b/offsite:/copy`)
 * or a second mount of the same file system. The check by name and the one through symbolic links
 * cannot see it, and a copy there is no copy: one disk lost takes both. Told apart by where each
 * directory is on its file system (the kernel's mount table: device, and path within it).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { StoreSpec } from '../common/store-url.js';

type FileStore = Extract<StoreSpec, { kind: 'file' }>;
interface Mount {
  device: string;
  /** The directory of the file system mounted here. */
  root: string;
  mountPoint: string;
}

/** The mount table as this process sees it; undefined off Linux. */
async function mountTable(): Promise<Mount[] | undefined> {
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => undefined);
  // Spaces, tabs, newlines and backslashes in paths are written as octal escapes.
  const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return text
    ?.split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '))
    .map((f) => ({ device: f[2]!, root: unescape(f[3]!), mountPoint: unescape(f[4]!) }));
}

/** Where `dir` is: its file system's device and the path within it, whichever mount it is reached through. */
function located(dir: string, mounts: Mount[]): string | undefined {
  const under = (m: Mount) => m.mountPoint === '/' || dir === m.mountPoint || dir.startsWith(`${m.mountPoint}/`);
  // The last of the mounts at one point is the one seen (mounted over the others).
  const mount = mounts.filter(under).reduce<Mount | undefined>((best, m) => (!best || m.mountPoint.length >= best.mountPoint.length ? m : best), undefined);
  if (!mount) return undefined;
  return `${mount.device}:${path.posix.join(mount.root, mount.mountPoint === '/' ? dir : dir.slice(mount.mountPoint.length))}`;
}

/** Whether location `inner` lies below `outer` (which may be a file system's root, "8:1:/"). */
const within = (inner: string, outer: string) => inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`);

/** `real`: the stores with symbolic links resolved. One problem per pair of stores found to be one, or nested. */
export async function sharedDirectoryProblems(real: readonly StoreSpec[]): Promise<string[]> {
  const mounts = await mountTable();
  if (!mounts) return [];
  const files = real.filter((s): s is FileStore => s.kind === 'file').map((store) => ({ store, at: located(store.path, mounts) }));
  const problems: string[] = [];
  for (const [i, a] of files.entries()) {
    for (const b of files.slice(i + 1)) {
      if (a.at === undefined || b.at === undefined) continue;
      if (a.at === b.at) {
        problems.push(`invalid configuration: stores ${a.store.url} and ${b.store.url} are one directory (a bind mount, or the same file system mounted twice): a copy there is no copy; give each store a directory of its own, a copy on another disk`);
        continue;
      }
      const [outer, inner] = within(b.at, a.at) ? [a, b] : within(a.at, b.at) ? [b, a] : [];
      if (outer && inner) {
        problems.push(`invalid configuration: store ${inner.store.url} lies inside store ${outer.store.url} (the same directory on disk, reached through a bind mount or a second mount): give each store a directory of its own, neither inside the other`);
      }
    }
  }
  return problems;
}
