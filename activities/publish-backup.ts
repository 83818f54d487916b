/**
 * publishBackup: turn a verified `.partial` archive into a complete backup. Order matters:
 * archive renamed, then the `.sha256` sidecar, then the manifest last — the manifest is what makes
 * a backup complete. Safe to retry at any point.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import type { BackupManifest, PublishedBackup, PublishRequest } from '../common/types.js';
import { backupPaths, fsyncPath, removeIfPresent, writeFileAtomic } from './backup-store.js';
import type { DumpFacts } from './dump-database.js';
import { diskFull, failure, isNoSpaceError } from './failures.js';

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

export async function publishBackup(config: Config, req: PublishRequest): Promise<PublishedBackup> {
  const paths = backupPaths(config.backupDir, req.database, req.backupId);
  const published = { dumpPath: paths.dump, checksumPath: paths.checksum, manifestPath: paths.manifest };
  if (await exists(paths.manifest)) return published; // an earlier attempt finished

  try {
    if (await exists(paths.partialDump)) {
      await fs.rename(paths.partialDump, paths.dump);
      await fsyncPath(paths.dir);
    } else if (!(await exists(paths.dump))) {
      throw failure(config, FailureType.BackupNotFound, `the verified archive ${paths.partialDump} has disappeared; run the backup again`);
    }
    await writeFileAtomic(paths.checksum, `${req.dump.sha256}  ${path.basename(paths.dump)}\n`);

    const facts = JSON.parse(await fs.readFile(paths.partialManifest, 'utf8')) as DumpFacts;
    const manifest: BackupManifest = {
      manifestVersion: 1,
      id: req.backupId,
      database: req.database,
      format: 'custom',
      compressLevel: facts.compressLevel,
      verify: facts.verify,
      file: path.basename(paths.dump),
      sizeBytes: req.dump.sizeBytes,
      sha256: req.dump.sha256,
      server: facts.server,
      pgDumpVersion: facts.pgDumpVersion,
      startedAt: facts.startedAt,
      finishedAt: new Date().toISOString(),
      durationsMs: { dump: req.dump.durationMs, verify: req.verify.durationMs },
      toc: { entries: req.verify.tocEntries, tableDataEntries: req.verify.tableDataEntries },
      tables: facts.tables,
      workflow: facts.workflow,
    };
    await writeFileAtomic(paths.manifest, JSON.stringify(manifest, null, 2) + '\n');
    await removeIfPresent(paths.partialManifest);
    return published;
  } catch (err) {
    throw isNoSpaceError(err) ? diskFull(config, paths.manifest) : err;
  }
}
