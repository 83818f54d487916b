/**
 * The backup directory on disk: where each file of a backup lives, which backups are complete,
 * and durable writes. A backup is complete only when its manifest exists; the manifest is
 * written last and removed first, so a crash at any point never leaves a half backup that looks whole.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { backupFileNames, parseBackupId, PARTIAL_SUFFIX } from '../common/backup-id.js';
import { InputError } from '../common/errors.js';
import type { BackupManifest } from '../common/types.js';

/** Resolves `parts` under `root` and refuses any result outside it. */
export function resolveInside(root: string, ...parts: string[]): string {
  const base = path.resolve(root);
  const target = path.resolve(base, ...parts);
  if (target !== base && !target.startsWith(base + path.sep)) {
    throw new InputError(`path "${parts.join('/')}" leaves BACKUP_DIR (${base}); give a backup id or a path inside it`);
  }
  return target;
}

export interface BackupPaths {
  dir: string;
  dump: string;
  checksum: string;
  manifest: string;
  partialDump: string;
  /** Proof of the last successful restore drill of this backup. */
  drillProof: string;
  /** Facts collected while dumping (server version, tables), merged into the manifest on publish. */
  partialManifest: string;
}

export function backupPaths(backupDir: string, database: string, backupId: string): BackupPaths {
  const dir = resolveInside(backupDir, database);
  const names = backupFileNames(backupId);
  const inDir = (name: string) => resolveInside(dir, name);
  return {
    dir,
    dump: inDir(names.dump),
    checksum: inDir(names.checksum),
    manifest: inDir(names.manifest),
    drillProof: inDir(names.drillProof),
    partialDump: inDir(names.dump + PARTIAL_SUFFIX),
    partialManifest: inDir(names.manifest + PARTIAL_SUFFIX),
  };
}

/** Flushes a file's data, or a directory's entries, to disk. */
export async function fsyncPath(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a small file so that readers see either nothing or all of it, and it survives a crash. */
export async function writeFileAtomic(file: string, content: string, mode = 0o640): Promise<void> {
  const tmp = file + PARTIAL_SUFFIX;
  const handle = await fs.open(tmp, 'w', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  await fsyncPath(path.dirname(file));
}

export async function removeIfPresent(file: string): Promise<boolean> {
  try {
    await fs.unlink(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export async function readManifest(file: string): Promise<BackupManifest> {
  return JSON.parse(await fs.readFile(file, 'utf8')) as BackupManifest;
}

async function readDirIfPresent(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export interface StoredBackup {
  manifest: BackupManifest;
  paths: BackupPaths;
}

/**
 * Complete backups of one database (or of all, when `database` is undefined), newest first.
 * Files that do not follow pgkeeper's naming (a user's notes, a seed-style dump) are ignored.
 */
export async function listCompleteBackups(backupDir: string, database?: string): Promise<StoredBackup[]> {
  const databases = database !== undefined ? [database] : await readDirIfPresent(path.resolve(backupDir));
  const found: StoredBackup[] = [];
  for (const db of databases) {
    let dir: string;
    try {
      dir = resolveInside(backupDir, db);
    } catch {
      continue;
    }
    for (const name of await readDirIfPresent(dir)) {
      if (!name.endsWith('.manifest.json')) continue;
      const id = name.slice(0, -'.manifest.json'.length);
      let parsedDatabase: string;
      try {
        parsedDatabase = parseBackupId(id).database;
      } catch {
        continue; // not one of ours
      }
      if (parsedDatabase !== db) continue;
      const paths = backupPaths(backupDir, db, id);
      // Complete means: a readable manifest that names this very backup, and its archive present.
      // Anything less is left in place for a human to inspect, and never counted or restored.
      const manifest = await readManifest(paths.manifest).catch(() => undefined);
      const archive = await fs.stat(paths.dump).catch(() => undefined);
      if (manifest?.id === id && archive?.isFile() && !Number.isNaN(Date.parse(manifest.startedAt))) found.push({ manifest, paths });
    }
  }
  return found.sort((a, b) => (a.manifest.startedAt < b.manifest.startedAt ? 1 : a.manifest.startedAt > b.manifest.startedAt ? -1 : 0));
}
