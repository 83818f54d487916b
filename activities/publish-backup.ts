/**
 * publishBackup: make a stored, verified archive a backup. First the archive is verified in the
 * store: there, with exactly the bytes the stream counted (the table of contents and, with verify
 * "full", every data block were already read back by pg_restore while it was written). Then, in
 * this order: the `.sha256` sidecar, the manifest, which is what makes a backup complete, and the
 * dump's facts object goes. So no manifest ever names a missing archive. Safe to retry at any point.
 * A sidecar or manifest a full disk refuses takes the archive with it.
 */
import { ApplicationFailure } from '@temporalio/common';
import { backupKeys, type BackupKeys } from '../common/backup-keys.js';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { parseManifest, type BackupManifest } from '../common/manifest.js';
import type { PublishRequest } from '../common/types.js';
import type { DumpFacts } from './dump-database.js';
import { copyStores, primaryStore } from './store/open-stores.js';
import type { BackupStore } from './store/store.js';

export function sidecarText(sha256: string, name: string): string {
  return `${sha256}  ${name}\n`;
}

/** The SHA-256 a sidecar records (sha256sum's format, text or binary mode); undefined if it is not in that format. */
export function sidecarHash(text: string): string | undefined {
  return /^([0-9a-f]{64})\s+\*?(.+)$/m.exec(text)?.[1];
}

function isManifest(text: string | undefined, id: string): boolean {
  if (text === undefined) return false;
  try {
    parseManifest(text, id);
    return true;
  } catch {
    return false; // half-written by a dying attempt: write it again
  }
}

/** Also names the copy stores, for the workflow to fill next. */
export async function publishBackup(config: Config, req: PublishRequest): Promise<{ store: string; manifestKey: string; copies: string[] }> {
  const store = primaryStore(config);
  const keys = backupKeys(req.database, req.backupId, req.dump.filters);
  const published = { store: store.url, manifestKey: keys.manifest, copies: copyStores(config).map((s) => s.url) };
  if (isManifest(await store.getText(keys.manifest), req.backupId)) {
    await store.delete(keys.facts); // an earlier attempt wrote the manifest and died before this
    return published;
  }
  const verifyStarted = Date.now();
  // Listed, not just asked for by its key: a store that lists a key otherwise than it took it (an S3
  // server putting U+FFFD for what XML cannot carry, one that normalises Unicode) would hide the
  // backup from every restore, copy and retention run. Asked for by key only when the listing lacks it.
  const listed = (await store.list(`${req.database}/${req.backupId}.`)).find((o) => o.key === keys.archive);
  const archive = listed ?? (await store.stat(keys.archive));
  if (archive?.sizeBytes !== req.dump.archive.sizeBytes) {
    // The dump itself must be redone: retrying this step cannot help.
    throw ApplicationFailure.nonRetryable(
      `${keys.archive} in ${store.url} is ${archive ? `${archive.sizeBytes} bytes` : 'missing'}, but ${req.dump.archive.sizeBytes} bytes were written: the store did not keep the archive; the next backup will try again`,
      FailureType.CorruptArchive,
    );
  }
  // There, but not under its own name in the listing: refused before the manifest makes it a backup nobody can find.
  if (!listed) {
    // Removed by their exact keys: no listing would ever show them to the sweep.
    for (const key of [keys.archive, keys.facts]) await store.delete(key);
    throw ApplicationFailure.nonRetryable(
      `the listing of ${store.url} does not return ${keys.archive} as it was written (the store changes such keys when it lists them), so pgkeeper could never find this backup: it was not published, and its archive was removed. Rename the database to plain characters, or back it up to another store`,
      FailureType.StoreFailed,
    );
  }
  const verifyMs = Date.now() - verifyStarted;
  const factsText = await store.getText(keys.facts);
  if (factsText === undefined) {
    throw ApplicationFailure.nonRetryable(`the dump's facts ${keys.facts} are gone from ${store.url}; the next backup will try again`, FailureType.BackupNotFound);
  }
  const facts = JSON.parse(factsText) as DumpFacts;
  try {
    await writeSidecarAndManifest(store, keys, req, facts, verifyMs);
  } catch (err) {
    // A full disk: the archive would be no backup, only taking the space the next one needs until
    // the sweep a day later. Unless the manifest is there after all (a directory's sync failing
    // after the rename, or another attempt that published): then it is a backup, and stays.
    if (!(err instanceof ApplicationFailure && err.type === FailureType.DiskFull)) throw err;
    if (isManifest(await store.getText(keys.manifest).catch(() => undefined), req.backupId)) throw err;
    for (const key of [keys.sidecar, keys.facts]) await store.delete(key).catch(() => undefined);
    const removed = await store.delete(keys.archive).then(
      () => 'its archive was removed',
      (e: unknown) => `its archive could not be removed (${e instanceof Error ? e.message : String(e)}); the sweep removes it once it is a day old`,
    );
    throw ApplicationFailure.create({ message: `${err.message}. ${req.backupId} was not published: ${removed}`, type: err.type, nonRetryable: true });
  }
  await store.delete(keys.facts);
  return published;
}

async function writeSidecarAndManifest(store: BackupStore, keys: BackupKeys, req: PublishRequest, facts: DumpFacts, verifyMs: number): Promise<void> {
  await store.put(keys.sidecar, sidecarText(req.dump.archive.sha256, req.dump.archive.name));
  const manifest: BackupManifest = {
    manifestVersion: facts.databaseProperties.sealed ? 3 : 2,
    kind: 'database',
    id: req.backupId,
    database: req.database,
    format: 'custom',
    compression: facts.compression,
    filters: req.dump.filters,
    files: [req.dump.archive],
    plaintext: req.dump.plaintext,
    dumpBytes: req.dump.dumpBytes,
    verify: facts.verify,
    server: facts.server,
    pgDumpVersion: facts.pgDumpVersion,
    startedAt: facts.startedAt,
    finishedAt: new Date().toISOString(),
    durationsMs: { dump: req.dump.durationMs, verify: verifyMs },
    toc: req.dump.toc,
    tables: facts.tables,
    databaseProperties: facts.databaseProperties,
    workflow: facts.workflow,
  };
  await store.put(keys.manifest, JSON.stringify(manifest, null, 2) + '\n');
}
