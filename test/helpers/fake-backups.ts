/**
 * Backups written straight into a store, dated in the past: for retention, listing and damage
 * tests that need many backups of various ages without dumping each. They are complete by the
 * store's own rules (manifest naming every file with its size and hash), so the code under test
 * treats them exactly like real ones.
 */
import { createHash } from 'node:crypto';
import { makeBackupId } from '../../common/backup-id.js';
import { backupKeys, GLOBALS_FOLDER } from '../../common/backup-keys.js';
import { makeGlobalsId } from '../../common/globals.js';
import type { BackupManifest, GlobalsManifest } from '../../common/manifest.js';
import type { BackupStore } from '../../activities/store/store.js';

const DAY_MS = 86_400_000;

/** How a manifest lists `archive`, stored as backup `id` in `folder`. */
function archiveFile(folder: string, id: string, archive: Buffer): { name: string; sizeBytes: number; sha256: string } {
  return { name: backupKeys(folder, id, []).archive.slice(folder.length + 1), sizeBytes: archive.length, sha256: createHash('sha256').update(archive).digest('hex') };
}

/** The archive, its sidecar and, last, the manifest that makes it a complete backup of `folder`. */
async function putBackup(store: BackupStore, folder: string, archive: Buffer, manifest: BackupManifest | GlobalsManifest): Promise<void> {
  const keys = backupKeys(folder, manifest.id, []);
  await store.put(keys.archive, archive);
  await store.put(keys.sidecar, `${manifest.files[0]!.sha256}  ${manifest.files[0]!.name}\n`);
  await store.put(keys.manifest, JSON.stringify(manifest));
}

export async function writeFakeBackup(store: BackupStore, database: string, ageDays: number, uuid = `${Math.floor(ageDays)}`.padStart(8, '0')): Promise<BackupManifest> {
  return writeFakeBackupAt(store, database, Date.now() - ageDays * DAY_MS, uuid);
}

/** A complete backup of `database` started at `startedMs`, its id's random part from `uuid`. */
export async function writeFakeBackupAt(store: BackupStore, database: string, startedMs: number, uuid: string): Promise<BackupManifest> {
  const id = makeBackupId(database, startedMs, uuid);
  const archive = Buffer.from(`PGDMP fake archive of ${id}`);
  const manifest: BackupManifest = {
    manifestVersion: 2,
    kind: 'database',
    id,
    database,
    format: 'custom',
    compression: 'none',
    filters: [],
    files: [archiveFile(database, id, archive)],
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
  await putBackup(store, database, archive, manifest);
  return manifest;
}

/** A complete globals backup written straight into the store, `ageDays` old (as retention sees it). */
export async function writeFakeGlobals(store: BackupStore, ageDays: number): Promise<string> {
  const startedMs = Date.now() - ageDays * DAY_MS;
  const id = makeGlobalsId(startedMs, `${ageDays}`.padStart(8, '0'));
  const script = Buffer.from(`-- fake globals ${id}\nCREATE ROLE fake_${ageDays};\n`);
  await putBackup(store, GLOBALS_FOLDER, script, {
    manifestVersion: 2,
    kind: 'globals',
    id,
    filters: [],
    files: [archiveFile(GLOBALS_FOLDER, id, script)],
    plaintext: null,
    pgDumpallVersion: 'pg_dumpall (PostgreSQL) 15',
    startedAt: new Date(startedMs).toISOString(),
    finishedAt: new Date(startedMs + 1000).toISOString(),
    roles: 1,
  });
  return id;
}
