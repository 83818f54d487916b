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

function pinDir(config: Config): string {
  return resolveInside(config.backupDir, PIN_DIR);
}

/**
 * `<pin>.<epoch ms>.dump`: the pin's age is in its name, because a hard link shares its inode's
 * times with the original (and with every other link).
 */
function pinPaths(config: Config, pin: string, createdMs: number) {
  const dir = pinDir(config);
  return { dir, dump: resolveInside(dir, `${pin}.${createdMs}.dump`), manifest: resolveInside(dir, `${pin}.${createdMs}.manifest.json`) };
}

async function sweepStalePins(dir: string): Promise<void> {
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const createdMs = Number(/\.(\d+)\.(dump|manifest\.json)$/.exec(name)?.[1]);
    if (Number.isFinite(createdMs) && Date.now() - createdMs > STALE_PIN_MS) await removeIfPresent(path.join(dir, name));
  }
}

/** The same backup, read through hard links that retention cannot take away. */
export async function pinBackup(config: Config, backup: ResolvedBackup, pin: string): Promise<ResolvedBackup> {
  const paths = pinPaths(config, pin, Date.now());
  await fs.mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await sweepStalePins(paths.dir);
  try {
    await fs.link(backup.dumpPath, paths.dump);
    if (backup.manifestPath) await fs.link(backup.manifestPath, paths.manifest);
  } catch (err) {
    // Another file system (EXDEV) or no hard links: read the original, unprotected.
    if (!['EXDEV', 'EPERM', 'ENOTSUP'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    return backup;
  }
  return { ...backup, dumpPath: paths.dump, ...(backup.manifestPath ? { manifestPath: paths.manifest } : {}) };
}

export async function unpinBackup(config: Config, req: { pin: string }): Promise<void> {
  const dir = pinDir(config);
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(`${req.pin}.`)) await removeIfPresent(path.join(dir, name));
  }
}
