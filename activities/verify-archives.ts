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
import { ApplicationFailure } from '@temporalio/common';
import { classifyKey, damageKey, GLOBALS_FOLDER, manifestKey } from '../common/backup-keys.js';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { isDatabaseName } from '../common/names.js';
import type { ArchiveProblem, StoreUnreachable, VerifyResult } from '../common/types.js';
import type { VerifyInput } from '../common/verify-input.js';
import { heartbeatEvery } from './heartbeat.js';
import { databaseFolders, listCatalog, type CatalogEntry } from './store/backup-catalog.js';
import { manifestArchive, recordProvenDamage } from './store/damage-record.js';
import { allStores, namedStore } from './store/open-stores.js';
import { unreadable, wrongServerChecksum } from './store/read-first-intact.js';
import type { BackupStore } from './store/store.js';

/** Problems listed one by one; more are counted (`pgkeeper backups` lists every DAMAGED one). */
const MAX_LISTED_PROBLEMS = 100;

/** The store itself failing (not one object): its other archives would fail the same way. */
const STORE_WIDE = new Set<string>([FailureType.StoreUnavailable, FailureType.StoreAccessDenied, FailureType.StoreMissing]);

/**
 * A store's backups to read, or why it cannot be listed (down, its bucket missing, access
 * refused): then none of it is read, and the other stores are verified all the same.
 */
async function plan(store: BackupStore, database: string | undefined): Promise<CatalogEntry[] | StoreUnreachable> {
  try {
    const folders = database !== undefined ? [database] : [...(await databaseFolders(store)).filter(isDatabaseName), GLOBALS_FOLDER];
    const entries: CatalogEntry[] = [];
    // Unfinished uploads are not backups (retention removes them); nothing to hold them against.
    for (const folder of folders) entries.push(...(await listCatalog(store, folder)).filter((e) => e.status !== 'partial'));
    return entries;
  } catch (err) {
    if (!unreadable(err)) throw err;
    return { store: store.url, reason: `${err.message}; none of its archives were read` };
  }
}

/** Read whole: complete backups, and those damaged only by a record (judged again by this read). */
const readable = (entry: CatalogEntry) => entry.status === 'complete' || entry.recorded === true;

/** Deleted since it was listed (retention ran meanwhile): gone, not damaged; the warning that says so. */
async function deletedMeanwhile(store: BackupStore, entry: CatalogEntry): Promise<string | undefined> {
  if (await store.stat(manifestKey(entry.folder, entry.id)).catch(() => true)) return undefined;
  return `${entry.id} was deleted from ${store.url} while verify ran (retention, say): not checked`;
}

export async function verifyArchives(config: Config, req: VerifyInput): Promise<VerifyResult> {
  const startedMs = Date.now();
  const ctx = Context.current();
  const stores = req.store !== undefined ? [namedStore(config, req.store)] : allStores(config);
  let phase = 'listing the stores';
  let bytesRead = 0;
  let totalBytes: number | undefined;
  const stopHeartbeat = heartbeatEvery(1_000, () => ({ phase, bytes: bytesRead, totalBytes }));
  const unreachable: StoreUnreachable[] = [];
  let intact = 0;
  const problems: ArchiveProblem[] = [];
  const warnings: string[] = [];
  try {
    const planned: [BackupStore, CatalogEntry[]][] = [];
    const empty: string[] = [];
    for (const store of stores) {
      const entries = await plan(store, req.database);
      if (!Array.isArray(entries)) unreachable.push(entries);
      else if (entries.length === 0) empty.push(store.url); // unmounted, a wrong prefix, copies never made: as wrong as damage
      else planned.push([store, entries]);
    }
    totalBytes = planned.flatMap(([, entries]) => entries.filter(readable)).reduce((sum, e) => sum + e.manifest!.files.reduce((s, f) => s + f.sizeBytes, 0), 0);

    for (const [store, entries] of planned) {
      for (const [index, entry] of entries.entries()) {
        const base = { id: entry.id, folder: entry.folder, store: store.url };
        if (!readable(entry)) {
          // Damaged as listed (manifest unreadable, archive missing or of the wrong size): nothing to read.
          const deleted = await deletedMeanwhile(store, entry);
          if (deleted) warnings.push(deleted);
          else problems.push({ ...base, verdict: 'damaged', reason: entry.reason ?? 'damaged' });
          continue;
        }
        const found: ArchiveProblem[] = [];
        const recorded: string[] = [];
        let changed = false;
        let storeFailure: ApplicationFailure | undefined;
        for (const file of entry.manifest!.files) {
          phase = `reading ${entry.folder}/${file.name} in ${store.url}`;
          const archive = manifestArchive(entry.folder, entry.id, file);
          const read = await recordProvenDamage(store, archive, ctx.info.workflowExecution, ctx.cancellationSignal, (n) => (bytesRead += n));
          if (read.verdict === 'damaged') {
            recorded.push(...read.warnings);
            found.push({ ...base, verdict: 'damaged', reason: read.reason });
          } else if (read.verdict === 'intact' && read.serverChecksum) {
            // A restore would be refused these right bytes: mended by hand, never recorded as damage.
            found.push({ ...base, verdict: 'unreadable', reason: wrongServerChecksum(read.serverChecksum, store, archive.archiveKey) });
          } else if (read.verdict === 'changed') {
            changed = true;
          } else if (read.verdict === 'unknown') {
            if (read.error instanceof ApplicationFailure && STORE_WIDE.has(read.error.type ?? '')) storeFailure = read.error;
            found.push({ ...base, verdict: 'unreadable', reason: read.error.message });
          }
        }
        if (storeFailure) {
          // Every later read would wait out the same failure and say it again.
          unreachable.push({ store: store.url, reason: `${storeFailure.message}; ${entries.length - index} of its ${entries.length} backups were not read` });
          break;
        }
        const deleted = found.some((p) => p.verdict === 'unreadable') ? await deletedMeanwhile(store, entry) : undefined;
        if (deleted) {
          warnings.push(deleted);
          continue;
        }
        if (changed) {
          // Written again while it was read (a copy run mending it): read next time.
          warnings.push(`${entry.id} was written again in ${store.url} while verify read it: not checked`);
          continue;
        }
        intact += entry.manifest!.files.length - found.length;
        problems.push(...found);
        if (!entry.recorded) warnings.push(...recorded); // recorded before: nothing new to say
        // Mended since it was recorded (copied back by hand, with its old time or a new one): the record is wrong now.
        if (found.length === 0 && entry.objects.some((o) => classifyKey(o.key)?.part === 'damage')) {
          await store.delete(damageKey(entry.folder, entry.id)).then(
            () => warnings.push(`${entry.id} reads back whole in ${store.url} now: its damage record was removed`),
            (err: Error) => warnings.push(`${entry.id} reads back whole in ${store.url} now, but its damage record could not be removed: ${err.message}`),
          );
        }
      }
    }
    return {
      ...(req.database !== undefined ? { database: req.database } : {}),
      stores: stores.map((s) => s.url),
      unreachable,
      empty,
      intact,
      problems: problems.slice(0, MAX_LISTED_PROBLEMS),
      problemsNotListed: Math.max(0, problems.length - MAX_LISTED_PROBLEMS),
      bytesRead,
      durationMs: Date.now() - startedMs,
      warnings,
    };
  } finally {
    stopHeartbeat();
  }
}
