/**
 * resolveBackup: turn what the user typed (a backup id, "latest", or a path) into one archive
 * inside BACKUP_DIR. Nothing outside BACKUP_DIR is ever opened, symlinks included.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseBackupId, PARTIAL_SUFFIX } from '../common/backup-id.js';
import type { Config } from '../common/config.js';
import { FailureType, InputError } from '../common/errors.js';
import { validateDatabaseName } from '../common/names.js';
import type { BackupManifest, ResolvedBackup } from '../common/types.js';
import { backupPaths, listCompleteBackups, readManifest, resolveInside } from './backup-store.js';
import { failure, rejectingInput } from './failures.js';
import { pinBackup } from './pin-archive.js';

export interface ResolveRequest {
  backup: string;
  database?: string;
  /** A name unique to the run (its run id): the archive is pinned under it. */
  pin?: string;
}

/** Seed-style names written by the old backup.sh: `<database>_<yyyymmdd>_<hhmmss>.dump`. */
const SEED_NAME = /^(.+)_(\d{8})_(\d{6})\.dump$/;

function fromManifest(manifest: BackupManifest, dumpPath: string, manifestPath: string): ResolvedBackup {
  return {
    kind: 'manifest',
    label: manifest.id,
    database: manifest.database,
    sourcePath: dumpPath,
    dumpPath,
    manifestPath,
    sizeBytes: manifest.sizeBytes,
    sha256: manifest.sha256,
    tocEntries: manifest.toc.entries,
  };
}

/** Resolves a path given by a user and proves, after following symlinks, that it stays inside BACKUP_DIR. */
export async function realPathInside(config: Config, file: string): Promise<string> {
  const root = await fs.realpath(config.backupDir).catch(() => path.resolve(config.backupDir));
  const candidate = path.isAbsolute(file) ? file : resolveInside(root, file);
  let real: string;
  try {
    real = await fs.realpath(candidate);
  } catch {
    throw new InputError(`no file at ${candidate}; list backups with \`pgkeeper backups\``);
  }
  return resolveInside(root, path.relative(root, real));
}

async function resolvePath(config: Config, req: ResolveRequest): Promise<ResolvedBackup> {
  if (req.backup.endsWith(PARTIAL_SUFFIX)) {
    throw new InputError(`${req.backup} is an unfinished file (a dump still being written, or left by a crash); it is never restored`);
  }
  if (!req.backup.endsWith('.dump')) throw new InputError(`${req.backup} is not a .dump archive; give a backup id or the path of a .dump file inside BACKUP_DIR`);
  const file = await realPathInside(config, req.backup);
  const stat = await fs.stat(file);
  if (!stat.isFile()) throw new InputError(`${file} is not a file; give the path of a .dump archive inside BACKUP_DIR`);
  const manifestPath = file.replace(/\.dump$/, '.manifest.json');
  if (manifestPath !== file) {
    const manifest = await readManifest(manifestPath).catch(() => undefined);
    if (manifest) return fromManifest(manifest, file, manifestPath);
  }
  const seed = SEED_NAME.exec(path.basename(file));
  const database = seed ? validateDatabaseName(seed[1], 'database part of the file name') : req.database;
  if (database === undefined) {
    throw new InputError(`cannot tell which database ${path.basename(file)} holds from its name (expected <database>_<yyyymmdd>_<hhmmss>.dump); pass "database"`);
  }
  return { kind: 'seed', label: path.basename(file), database, sourcePath: file, dumpPath: file, sizeBytes: stat.size };
}

export async function resolveBackup(config: Config, req: ResolveRequest): Promise<ResolvedBackup> {
  const backup = await rejectingInput(config, () => findBackup(config, req));
  return req.pin ? pinBackup(config, backup, req.pin) : backup;
}

async function findBackup(config: Config, req: ResolveRequest): Promise<ResolvedBackup> {
  if (req.backup === 'latest') {
    const database = validateDatabaseName(req.database);
    const [newest] = await listCompleteBackups(config.backupDir, database);
    if (!newest) {
      throw failure(config, FailureType.BackupNotFound, `no complete backup of "${database}" in ${config.backupDir}; run \`pgkeeper backup ${database}\` first`);
    }
    return fromManifest(newest.manifest, newest.paths.dump, newest.paths.manifest);
  }
  if (req.backup.includes('/') || req.backup.endsWith('.dump') || req.backup.endsWith(PARTIAL_SUFFIX)) return resolvePath(config, req);

  const { id, database } = parseBackupId(req.backup);
  if (req.database !== undefined && req.database !== database) {
    throw new InputError(`backup ${id} is a backup of "${database}", not of "${req.database}"; leave out "database" or pick another backup`);
  }
  const paths = backupPaths(config.backupDir, database, id);
  const manifest = await readManifest(paths.manifest).catch(() => undefined);
  if (!manifest) {
    throw failure(config, FailureType.BackupNotFound, `backup ${id} is not a complete backup in ${paths.dir} (no manifest); list backups with \`pgkeeper backups ${database}\``);
  }
  return fromManifest(manifest, paths.dump, paths.manifest);
}
