/**
 * Damage a restore, drill or copy run found, recorded beside the backup in the store where it was
 * found (`<id>.damaged.json`). Without it a drill that fell back to a copy passed with a warning
 * nobody reads, and `status` went on saying "ok" about a primary whose archive had rotted.
 *
 * Recorded only when proven: the stored bytes, read once more, differ from what the manifest
 * recorded. A filter failing on bytes that do match (a broken zstd on the worker, say), or an S3
 * server whose own checksum fails on bytes that match, is not the store's damage: nothing is
 * recorded. The record holds while the archive is the one found damaged (its size and
 * modification time as listed), so a copy run that replaces a damaged copy clears it (and
 * removes it).
 */
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/common';
import { classifyKey, damageKey } from '../../common/backup-keys.js';
import { FailureType } from '../../common/errors.js';
import type { ManifestFile } from '../../common/manifest.js';
import type { ResolvedBackup } from '../../common/types.js';
import { measureTap } from '../stream/taps.js';
import type { BackupStore, StoredObject } from './store.js';

interface DamageRecord {
  foundAt: string;
  /** The run that found it: its history holds the whole failure. */
  by?: { workflowId: string; runId: string };
  archive: string;
  /** The archive's size and modification time when found damaged: the record holds while they are the same. */
  archiveVersion: string;
  reason: string;
}

/**
 * Why the stored bytes are not those the manifest recorded (`damaged`); when they are, the S3
 * server's own checksum failure on them, if it failed (`serverChecksum`: the server holds a wrong one).
 */
async function provenDamage(
  store: BackupStore,
  key: string,
  expected: { sizeBytes: number; sha256: string },
  signal: AbortSignal,
  onBytes: (n: number) => void,
): Promise<{ damaged?: string; serverChecksum?: string }> {
  let serverChecksum: string | undefined;
  const tap = measureTap(true);
  tap.on('data', (chunk: Buffer) => onBytes(chunk.length)); // only the count and the hash are wanted
  try {
    await pipeline(await store.get(key, { signal }), tap, { signal });
  } catch (err) {
    // An S3 store's own checksum failing (s3-failure.ts) comes at the end, every byte read: the
    // manifest still judges them (a server may hold a wrong checksum for right bytes).
    const whole = err instanceof ApplicationFailure && err.type === FailureType.ChecksumMismatch && tap.result().sizeBytes === expected.sizeBytes;
    if (!whole) throw err;
    serverChecksum = err.message;
  }
  const got = tap.result();
  if (got.sizeBytes === expected.sizeBytes && got.sha256 === expected.sha256) return serverChecksum ? { serverChecksum } : {};
  return { damaged: `it reads back as ${got.sizeBytes} bytes, sha256 ${got.sha256.slice(0, 16)}…; its manifest says ${expected.sizeBytes} bytes, ${expected.sha256.slice(0, 16)}…` };
}

/** A backup's archive as its manifest recorded it. */
export interface ArchiveExpected {
  /** The database's name, or `.globals`. */
  folder: string;
  id: string;
  archiveKey: string;
  sizeBytes: number;
  sha256: string;
}

/** A file of backup `id` in `folder` as its manifest lists it. */
export function manifestArchive(folder: string, id: string, file: ManifestFile): ArchiveExpected {
  return { folder, id, archiveKey: `${folder}/${file.name}`, sizeBytes: file.sizeBytes, sha256: file.sha256 };
}

/** The archive as a restore resolved it; undefined when there is no manifest to hold it against. */
export function expectedArchive(backup: ResolvedBackup): ArchiveExpected | undefined {
  if (backup.kind !== 'manifest' || backup.sha256 === null) return undefined;
  return { folder: backup.database, id: backup.label, archiveKey: backup.archiveKey, sizeBytes: backup.sizeBytes, sha256: backup.sha256 };
}

const version = (o: StoredObject | undefined) => (o ? `${o.sizeBytes}:${o.modifiedMs}` : 'gone');

/**
 * What a second read of an archive found: damaged (why), intact, changed (written again or deleted
 * while it was read: what was read is no longer there to judge), or nothing (the read itself failed).
 */
export type Verdict =
  | { verdict: 'damaged'; reason: string }
  /** serverChecksum: the S3 server's own checksum failed on these right bytes (it holds a wrong one), its message. */
  | { verdict: 'intact'; serverChecksum?: string }
  | { verdict: 'changed' }
  | { verdict: 'unknown'; error: Error };

/** Whether `text` is a damage record of the archive version `archiveVersion`. */
function recordsVersion(text: string | undefined, archiveVersion: string): boolean {
  try {
    return text !== undefined && (JSON.parse(text) as Partial<DamageRecord>).archiveVersion === archiveVersion;
  } catch {
    return false;
  }
}

/**
 * After a read of `archive` from `store` failed on its bytes: reads them again and, if they are
 * not what the manifest recorded, writes the damage record. A store this worker may only read (or
 * one gone away) costs the record, said in `warnings`, never the run.
 */
export async function recordProvenDamage(
  store: BackupStore,
  archive: ArchiveExpected,
  run: { workflowId: string; runId: string } | undefined,
  signal: AbortSignal,
  onBytes: (n: number) => void = () => undefined,
): Promise<Verdict & { warnings: string[] }> {
  const key = damageKey(archive.folder, archive.id);
  let verdict: Verdict | undefined;
  try {
    const before = await store.statAsListed(archive.archiveKey);
    const { damaged: reason, serverChecksum } = await provenDamage(store, archive.archiveKey, archive, signal, onBytes);
    if (reason === undefined) return { verdict: 'intact', ...(serverChecksum ? { serverChecksum } : {}), warnings: [] };
    const after = await store.statAsListed(archive.archiveKey);
    // Written again meanwhile (a copy run mending it): what was read is no longer there to record.
    if (!after || version(before) !== version(after)) return { verdict: 'changed', warnings: [] };
    verdict = { verdict: 'damaged', reason };
    // Found before in this very archive (a weekly verify reads it again): the first finding stands, when and by which run.
    if (recordsVersion(await store.getText(key).catch(() => undefined), version(after))) return { ...verdict, warnings: [] };
    const record: DamageRecord = { foundAt: new Date().toISOString(), ...(run ? { by: run } : {}), archive: archive.archiveKey.slice(archive.folder.length + 1), archiveVersion: version(after), reason };
    await store.put(key, JSON.stringify(record, null, 2) + '\n');
    return { ...verdict, warnings: [`${archive.id} is recorded as DAMAGED in ${store.url} (${key}), so \`pgkeeper status\` reports it until its archive there is written again (the next copy run does that for a copy store)`] };
  } catch (err) {
    if (signal.aborted) throw err;
    const error = err as Error;
    if (verdict) return { ...verdict, warnings: [`${archive.id} is DAMAGED in ${store.url} but could not be recorded there, so \`pgkeeper status\` does not show it: ${error.message}`] };
    return { verdict: 'unknown', error, warnings: [`${archive.id} could not be recorded as damaged in ${store.url}: ${error.message}`] };
  }
}

/**
 * The recorded damage of `archive` (one of the backup's `objects`), while the archive is the one
 * found damaged (same size and modification time): one written again since (mended, or only
 * touched) is judged afresh by the next read.
 */
export async function damageReason(store: BackupStore, objects: StoredObject[], archive: StoredObject): Promise<string | undefined> {
  const marker = objects.find((o) => classifyKey(o.key)?.part === 'damage');
  if (!marker) return undefined;
  // The store failing is not the backup being damaged: the caller retries. A record gone since the
  // listing (a copy run mending the copy) is none.
  const text = await store.getText(marker.key);
  if (text === undefined) return undefined;
  let record: Partial<DamageRecord> | undefined;
  try {
    record = JSON.parse(text) as Partial<DamageRecord>;
  } catch {
    record = undefined;
  }
  if (!record || typeof record !== 'object') return marker.modifiedMs >= archive.modifiedMs ? `a read found its archive damaged (${marker.key}, unreadable)` : undefined;
  if (record.archiveVersion !== version(archive)) return undefined;
  // Cut to a line: a record is a file anyone with access to the store may have written.
  const by = record.by?.workflowId ? ` by ${String(record.by.workflowId).slice(0, 200)}` : '';
  return `archive read back damaged on ${String(record.foundAt).slice(0, 16).replace('T', ' ')} UTC${by}: ${String(record.reason).slice(0, 500)}`;
}
