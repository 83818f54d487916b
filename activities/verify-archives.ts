/**
 * verifyArchives (`pgkeeper verify`): reads every stored archive back, in every store or the one
 * named, and holds its bytes against its manifest (size and SHA-256). A drill proves the newest
 * backup in the first store that has it intact; a copy made months ago was proven once, when it
 * was written, and rots unseen until the day it is needed. This is the scrub that finds it first:
 * damage is recorded where it is found (damage-record.ts), so `status` reports it and restores
 * read another store at once; a damage record on an archive that now reads back whole (mended by
 * hand) is removed. Nothing is decrypted or decompressed: the worker needs no identity for this,
 * and the bytes a restore would read are exactly the ones checked.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { damageKey, GLOBALS_FOLDER } from '../common/backup-keys.js';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { isDatabaseName } from '../common/names.js';
import type { VerifyInput } from '../common/verify-input.js';
import type { StoreUnreachable, VerifiedArchive, VerifyResult } from '../common/types.js';
import { heartbeatEvery } from './heartbeat.js';
import { databaseFolders, listCatalog, unreachableOrThrow, type CatalogEntry } from './store/backup-catalog.js';
import { recordProvenDamage } from './store/damage-record.js';
import { allStores, namedStore } from './store/open-stores.js';
import type { BackupStore } from './store/store.js';

interface Planned {
  store: BackupStore;
  entry: CatalogEntry;
}

/** Every backup to read, store by store; a store that does not answer is noted and skipped. */
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
      unreachable.push(unreachableOrThrow(store, err));
    }
  }
  return { planned, unreachable };
}

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
    if (unreachable.length === stores.length && stores.length > 0) {
      throw ApplicationFailure.retryable(`no store answered: ${unreachable.map((u) => `${u.store} (${u.reason})`).join('; ')}`, FailureType.StoreUnavailable);
    }
    totalBytes = planned.reduce((sum, p) => sum + (p.entry.status === 'complete' ? p.entry.manifest!.files.reduce((s, f) => s + f.sizeBytes, 0) : 0), 0);
    const archives: VerifiedArchive[] = [];
    const warnings: string[] = [];
    for (const { store, entry } of planned) {
      const base = { id: entry.id, folder: entry.folder, store: store.url };
      // Damaged as listed (manifest unreadable, archive missing or of the wrong size): nothing to read.
      // A damage record is judged again by this read.
      if (entry.status === 'damaged' && !entry.recorded) {
        archives.push({ ...base, verdict: 'damaged', reason: entry.reason ?? 'damaged' });
        continue;
      }
      for (const file of entry.manifest!.files) {
        phase = `reading ${entry.folder}/${file.name} in ${store.url}`;
        const archive = { folder: entry.folder, id: entry.id, archiveKey: `${entry.folder}/${file.name}`, sizeBytes: file.sizeBytes, sha256: file.sha256 };
        const found = await recordProvenDamage(store, archive, ctx.info.workflowExecution, ctx.cancellationSignal, (n) => (bytesRead += n));
        if (found.verdict === 'intact') {
          archives.push({ ...base, verdict: 'intact', sizeBytes: file.sizeBytes });
          // Mended since it was recorded (copied back by hand with its old time, say): the record is wrong now.
          if (entry.recorded) {
            await store.delete(damageKey(entry.folder, entry.id)).then(
              () => warnings.push(`${entry.id} reads back whole in ${store.url} now: its damage record was removed`),
              (err: Error) => warnings.push(`${entry.id} reads back whole in ${store.url} now, but its damage record could not be removed: ${err.message}`),
            );
          }
        } else if (found.verdict === 'damaged') {
          archives.push({ ...base, verdict: 'damaged', reason: found.reason, sizeBytes: file.sizeBytes });
          if (!entry.recorded) warnings.push(...found.warnings); // recorded before: nothing new to say
        } else {
          archives.push({ ...base, verdict: 'unreadable', reason: found.error, sizeBytes: file.sizeBytes });
        }
      }
    }
    return { stores: stores.map((s) => s.url), unreachable, archives, bytesRead, durationMs: Date.now() - startedMs, warnings };
  } finally {
    stopHeartbeat();
  }
}
