/**
 * verifyArchives (`pgkeeper verify`): reads every stored archive back, in every store or the one
 * named, and holds its bytes against its manifest (size and SHA-256). A drill proves the newest
 * backup in the first store that has it intact; a copy made months ago was proven once, when it
 * was written, and rots unseen until the day it is needed. This is the scrub that finds it first:
 * damage is recorded where it is found (damage-record.ts), so `status` reports it and restores
 * read another store at once; a damage record on a backup that now reads back whole (mended by
 * hand) is removed. Nothing is decrypted or decompressed: the worker needs no identity for this,
 * and the bytes a restore would read are exactly the ones checked.
 */
import { Context } from '@temporalio/activity';
import { damageKey, GLOBALS_FOLDER, manifestKey } from '../common/backup-keys.js';
import type { Config } from '../common/config.js';
import { isDatabaseName } from '../common/names.js';
import type { ArchiveProblem, StoreUnreachable, VerifyResult } from '../common/types.js';
import type { VerifyInput } from '../common/verify-input.js';
import { heartbeatEvery } from './heartbeat.js';
import { databaseFolders, listCatalog, type CatalogEntry } from './store/backup-catalog.js';
import { recordProvenDamage } from './store/damage-record.js';
import { allStores, namedStore } from './store/open-stores.js';
import { unreadable } from './store/read-first-intact.js';
import type { BackupStore } from './store/store.js';

interface Planned {
  store: BackupStore;
  entry: CatalogEntry;
}

/**
 * Every backup to read, store by store. A store that cannot be listed (down, its bucket missing,
 * access refused) is noted with the reason and the others are verified all the same.
 */
async function plan(stores: BackupStore[], database: string | undefined): Promise<{ planned: Planned[]; unreachable: StoreUnreachable[] }> {
  const planned: Planned[] = [];
  const unreachable: StoreUnreachable[] = [];
  for (const store of stores) {
    try {
      const folders = database !== undefined ? [database] : [...(await databaseFolders(store)).filter(isDatabaseName), GLOBALS_FOLDER];
      for (const folder of folders) {
        // Unfinished uploads are not backups (retention removes them); nothing to hold them against.
        for (const entry of await listCatalog(store, folder)) if (entry.status !== 'partial') planned.push({ store, entry });
      }
    } catch (err) {
      if (!unreadable(err)) throw err;
      unreachable.push({ store: store.url, reason: err.message });
    }
  }
  return { planned, unreachable };
}

/** Read whole: complete backups, and those damaged only by a record (judged again by this read). */
const readable = (entry: CatalogEntry) => entry.status === 'complete' || entry.recorded === true;

export async function verifyArchives(config: Config, req: VerifyInput): Promise<VerifyResult> {
  const startedMs = Date.now();
  const ctx = Context.current();
  const stores = req.store !== undefined ? [namedStore(config, req.store)] : allStores(config);
  let phase = 'listing the stores';
  let bytesRead = 0;
  let totalBytes: number | undefined;
  const stopHeartbeat = heartbeatEvery(1_000, () => ({ phase, bytes: bytesRead, totalBytes }));
  try {
    const { planned, unreachable } = await plan(stores, req.database);
    totalBytes = planned.filter((p) => readable(p.entry)).reduce((sum, p) => sum + p.entry.manifest!.files.reduce((s, f) => s + f.sizeBytes, 0), 0);
    let intact = 0;
    const problems: ArchiveProblem[] = [];
    const warnings: string[] = [];
    for (const { store, entry } of planned) {
      const base = { id: entry.id, folder: entry.folder, store: store.url };
      if (!readable(entry)) {
        // Damaged as listed (manifest unreadable, archive missing or of the wrong size): nothing to read.
        problems.push({ ...base, verdict: 'damaged', reason: entry.reason ?? 'damaged' });
        continue;
      }
      const found: ArchiveProblem[] = [];
      const recorded: string[] = [];
      for (const file of entry.manifest!.files) {
        phase = `reading ${entry.folder}/${file.name} in ${store.url}`;
        const archive = { folder: entry.folder, id: entry.id, archiveKey: `${entry.folder}/${file.name}`, sizeBytes: file.sizeBytes, sha256: file.sha256 };
        const read = await recordProvenDamage(store, archive, ctx.info.workflowExecution, ctx.cancellationSignal, (n) => (bytesRead += n));
        if (read.verdict === 'damaged') recorded.push(...read.warnings);
        if (read.verdict !== 'intact') found.push({ ...base, ...(read.verdict === 'damaged' ? { verdict: 'damaged', reason: read.reason } : { verdict: 'unreadable', reason: read.error }) });
      }
      // Deleted since it was listed (retention ran meanwhile): gone, not damaged.
      if (found.some((p) => p.verdict === 'unreadable') && !(await store.stat(manifestKey(entry.folder, entry.id)).catch(() => true))) {
        warnings.push(`${entry.id} was deleted from ${store.url} while verify ran (retention, say): not checked`);
        continue;
      }
      intact += entry.manifest!.files.length - found.length;
      problems.push(...found);
      if (!entry.recorded) warnings.push(...recorded); // recorded before: nothing new to say
      // Mended since it was recorded (copied back by hand with its old time, say): the record is wrong now.
      if (entry.recorded && found.length === 0) {
        await store.delete(damageKey(entry.folder, entry.id)).then(
          () => warnings.push(`${entry.id} reads back whole in ${store.url} now: its damage record was removed`),
          (err: Error) => warnings.push(`${entry.id} reads back whole in ${store.url} now, but its damage record could not be removed: ${err.message}`),
        );
      }
    }
    return {
      ...(req.database !== undefined ? { database: req.database } : {}),
      stores: stores.map((s) => s.url),
      unreachable,
      intact,
      problems,
      bytesRead,
      durationMs: Date.now() - startedMs,
      warnings,
    };
  } finally {
    stopHeartbeat();
  }
}
