/**
 * Backups written straight into a store, dated in the past: for retention, listing and damage
 * tests that need many backups of various ages without dumping each. They are complete by the
 * store's own rules (manifest naming every file with its size and hash), so the code under test
 * treats them exactly like real ones.
 */
import { createHash } from 'node:crypto';
import { makeBackupId } from '../../common/backup-id.js';
import { backupKeys } from '../../common/backup-keys.js';
import type { BackupManifest } from '../../common/manifest.js';
import type { BackupStore } from '../../activities/store/store.js';

const DAY_MS = 86_400_000;

export async function writeFakeBackup(store: BackupStore, database: string, ageDays: number, uuid = `${Math.floor(ageDays)}`.padStart(8, '0')): Promise<BackupManifest> {
  const startedMs = Date.now() - ageDays * DAY_MS;
  const id = makeBackupId(database, startedMs, uuid);
  const keys = backupKeys(database, id, []);
  const archive = Buffer.from(`PGDMP fake archive of ${id}`);
  const sha256 = createHash('sha256').update(archive).digest('hex');
  const name = keys.archive.slice(database.length + 1);
  const manifest: BackupManifest = {
    manifestVersion: 2,
    kind: 'database',
    id,
    database,
    format: 'custom',
    compression: 'none',
    filters: [],
    files: [{ name, sizeBytes: archive.length, sha256 }],
    plaintext: null,
    dumpBytes: archive.length,
    verify: 'full',
    server: { version: '15', versionNum: 150000 },
    pgDumpVersion: 'pg_dump (PostgreSQL) 15',
    startedAt: new Date(startedMs).toISOString(),
    finishedAt: new Date(startedMs + 1000).toISOString(),
    durationsMs: { dump: 1000, verify: 1 },
    toc: { entries: 1, tableDataEntries: 0 },
    tables: [],
    databaseProperties: null,
    workflow: { workflowId: 'fake', runId: 'fake' },
  };
  await store.put(keys.archive, archive);
  await store.put(keys.sidecar, `${sha256}  ${name}\n`);
  await store.put(keys.manifest, JSON.stringify(manifest));
  return manifest;
}
