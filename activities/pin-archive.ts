/**
 * Pins: a restore or drill reads its archive for minutes or hours, while a backup of the same
 * database may run retention. A hard link under `$BACKUP_DIR/.pinned/` keeps the archive (and its
 * manifest) alive for the run even if retention deletes the backup meanwhile. `.pinned` starts
 * with a dot, so it can never be a database's directory.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Config } from '../common/config.js';
import type { ResolvedBackup } from '../common/types.js';
import { removeIfPresent, resolveInside } from './backup-store.js';

const PIN_DIR = '.pinned';
/** Pins left by a crashed worker are swept after this long. */
const STALE_PIN_MS = 3 * 86_400_000;

function pinPaths(config: Config, pin: string) {
  const dir = resolveInside(config.backupDir, PIN_DIR);
  return { dir, dump: resolveInside(dir, `${pin}.dump`), manifest: resolveInside(dir, `${pin}.manifest.json`) };
}

async function link(from: string, to: string): Promise<void> {
  await removeIfPresent(to); // a retried attempt links again
  await fs.link(from, to);
}

async function sweepStalePins(dir: string): Promise<void> {
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const file = path.join(dir, name);
    const stat = await fs.stat(file).catch(() => undefined);
    if (stat && Date.now() - stat.ctimeMs > STALE_PIN_MS) await removeIfPresent(file);
  }
}

/** The same backup, read through hard links that retention cannot take away. */
export async function pinBackup(config: Config, backup: ResolvedBackup, pin: string): Promise<ResolvedBackup> {
  const paths = pinPaths(config, pin);
  await fs.mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await sweepStalePins(paths.dir);
  try {
    await link(backup.dumpPath, paths.dump);
    if (backup.manifestPath) await link(backup.manifestPath, paths.manifest);
  } catch (err) {
    // Another file system (EXDEV) or no hard links: read the original, unprotected.
    if (!['EXDEV', 'EPERM', 'ENOTSUP'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    return backup;
  }
  return { ...backup, dumpPath: paths.dump, ...(backup.manifestPath ? { manifestPath: paths.manifest } : {}) };
}

export async function unpinBackup(config: Config, req: { pin: string }): Promise<void> {
  const paths = pinPaths(config, req.pin);
  await removeIfPresent(paths.dump);
  await removeIfPresent(paths.manifest);
}
