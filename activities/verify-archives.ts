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
import { isDatabaseName, otherDatabasesNote } from '../common/names.js';
import type { ArchiveProblem, StoreUnreachable, VerifyResult } from '../common/types.js';
import type { VerifyInput } from '../common/verify-input.js';
import { heartbeatEvery } from './heartbeat.js';
import { databaseFolders, databasesHeld, isStoreUnreadable, listCatalog, type CatalogEntry } from './store/backup-catalog.js';
import { manifestArchive, recordProvenDamage } from './store/damage-record.js';
import { allStores, namedStore } from './store/open-stores.js';
import { unreadable, wrongServerChecksum } from './store/read-first-intact.js';
import { sidecarWarning } from './store/sidecar-check.js';
import type { BackupStore } from './store/store.js';

/** Problems listed one by one; more are counted (`pgkeeper backups` lists every DAMAGED one). */
const MAX_LISTED_PROBLEMS = 100;

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

/** Warnings listed one by one (heartbeated with the rest of the progress); more are counted. */
const MAX_LISTED_WARNINGS = 100;

/**
 * What an attempt has done, heartbeated: one whose worker died, or whose 24 h ran out on a store
 * of many terabytes, is retried, and the retry goes on from here rather than read it all again.
 * Stores before `storeIndex` are finished; in that store, the backups up to `folder`/`id` (in
 * reading order: the plan's folders, ids ascending, so a backup made meanwhile in a folder not
 * finished comes later; a folder made meanwhile that sorts before the position waits for the next verify).
 */
interface VerifyProgress {
  startedMs: number;
  storeIndex: number;
  folder?: string;
  id?: string;
  bytesRead: number;
  intact: number;
  problems: ArchiveProblem[];
  problemsNotListed: number;
  /** Every problem counted, listed or not. */
  damaged: number;
  unreadable: number;
  unreachable: StoreUnreachable[];
  empty: string[];
  warnings: string[];
  warningsNotListed: number;
}

/** The previous attempt's progress, if it was verifying the same stores. */
function resumed(stores: BackupStore[]): VerifyProgress | undefined {
  const details = Context.current().info.heartbeatDetails as { resume?: VerifyProgress; stores?: string[] } | undefined;
  return details?.resume && details.stores?.join('\n') === stores.map((s) => s.url).join('\n') ? details.resume : undefined;
}

/** Reading order within a store: the databases' folders by name, then the globals; each folder's backups by id. */
function readingOrder(a: { folder: string; id: string }, b: { folder: string; id: string }): number {
  const key = (e: { folder: string; id: string }) => [e.folder === GLOBALS_FOLDER ? 1 : 0, e.folder, e.id] as const;
  const [x, y] = [key(a), key(b)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return 0;
}

export async function verifyArchives(config: Config, req: VerifyInput): Promise<VerifyResult> {
  const ctx = Context.current();
  const stores = req.store !== undefined ? [namedStore(config, req.store)] : allStores(config);
  const progress: VerifyProgress = resumed(stores) ?? {
    startedMs: Date.now(),
    storeIndex: 0,
    bytesRead: 0,
    intact: 0,
    problems: [],
    problemsNotListed: 0,
    damaged: 0,
    unreadable: 0,
    unreachable: [],
    empty: [],
    warnings: [],
    warningsNotListed: 0,
  };
  let phase = progress.storeIndex > 0 || progress.id !== undefined ? 'listing the stores (going on from where the last attempt stopped)' : 'listing the stores';
  let totalBytes: number | undefined;
  // Bytes read of the backup being read now: counted in the progress once it is judged, so a retry starts from the bytes of those it skips.
  let reading = 0;
  const stopHeartbeat = heartbeatEvery(1_000, () => ({ phase, bytes: progress.bytesRead + reading, totalBytes, stores: stores.map((s) => s.url), resume: structuredClone(progress) }));
  const problem = (p: ArchiveProblem) => {
    progress[p.verdict]++;
    if (progress.problems.length < MAX_LISTED_PROBLEMS) progress.problems.push(p);
    else progress.problemsNotListed++;
  };
  const warn = (w: string) => (progress.warnings.length < MAX_LISTED_WARNINGS ? progress.warnings.push(w) : progress.warningsNotListed++);
  /**
   * Reads one backup's archives and counts what it found, after its last wait; returns the
   * failure of the store itself, if that is what a read ran into.
   */
  const readEntry = async (store: BackupStore, entry: CatalogEntry): Promise<ApplicationFailure | undefined> => {
    const base = { id: entry.id, folder: entry.folder, store: store.url };
    if (!readable(entry)) {
      // Damaged as listed (manifest unreadable, archive missing or of the wrong size), or a newer
      // pgkeeper's (likely sound, but this one cannot tell what its bytes should be): nothing to read.
      const deleted = await deletedMeanwhile(store, entry);
      if (deleted) warn(deleted);
      else problem({ ...base, verdict: entry.status === 'newer' ? 'unreadable' : 'damaged', reason: entry.reason ?? 'damaged' });
      return undefined;
    }
    const found: ArchiveProblem[] = [];
    const recorded: string[] = [];
    const sidecars: string[] = [];
    let changed = false;
    for (const file of entry.manifest!.files) {
      phase = `reading ${entry.folder}/${file.name} in ${store.url}`;
      const archive = manifestArchive(entry.folder, entry.id, file);
      const read = await recordProvenDamage(store, archive, ctx.info.workflowExecution, ctx.cancellationSignal, (n) => (reading += n));
      // The sidecar of bytes just proven whole: what `sha256sum -c` would check them with.
      const sidecar = read.verdict === 'intact' ? await sidecarWarning(store, archive.archiveKey, file.sha256, true) : undefined;
      if (sidecar) sidecars.push(sidecar);
      if (read.verdict === 'damaged') {
        recorded.push(...read.warnings);
        found.push({ ...base, verdict: 'damaged', reason: read.reason });
      } else if (read.verdict === 'intact' && read.serverChecksum) {
        // A restore would be refused these right bytes: mended by hand, never recorded as damage.
        found.push({ ...base, verdict: 'unreadable', reason: wrongServerChecksum(read.serverChecksum, store, archive.archiveKey) });
      } else if (read.verdict === 'changed') {
        changed = true;
      } else if (read.verdict === 'unknown') {
        // The store itself failing (not one object): its other archives would fail the same way.
        if (isStoreUnreadable(read.error)) return read.error;
        found.push({ ...base, verdict: 'unreadable', reason: read.error.message });
      }
    }
    const deleted = found.some((p) => p.verdict === 'unreadable') ? await deletedMeanwhile(store, entry) : undefined;
    if (deleted) {
      warn(deleted);
      return undefined;
    }
    if (changed) {
      // Written again while it was read (a copy run mending it): read next time.
      warn(`${entry.id} was written again in ${store.url} while verify read it: not checked`);
      return undefined;
    }
    // Mended since it was recorded (copied back by hand, with its old time or a new one): the record is wrong now.
    const mended =
      found.length === 0 && entry.objects.some((o) => classifyKey(o.key)?.part === 'damage')
        ? await store.delete(damageKey(entry.folder, entry.id)).then(
            () => `${entry.id} reads back whole in ${store.url} now: its damage record was removed`,
            (err: Error) => `${entry.id} reads back whole in ${store.url} now, but its damage record could not be removed: ${err.message}`,
          )
        : undefined;
    progress.intact += entry.manifest!.files.length - found.length;
    found.forEach(problem);
    if (!entry.recorded) recorded.forEach(warn); // recorded before: nothing new to say
    sidecars.forEach(warn);
    if (mended) warn(mended);
    return undefined;
  };
  try {
    // Every store is listed first, for the total; what a store's listing found is added to the
    // result when its turn comes, so an attempt that dies first does not leave it counted twice.
    const planned: [number, BackupStore, CatalogEntry[] | StoreUnreachable][] = [];
    for (const [index, store] of stores.entries()) {
      if (index < progress.storeIndex) continue;
      const entries = await plan(store, req.database);
      // In the store the last attempt was reading, what it had not judged yet.
      const position = index === progress.storeIndex && progress.folder !== undefined ? { folder: progress.folder, id: progress.id! } : undefined;
      planned.push([index, store, Array.isArray(entries) ? entries.sort(readingOrder).filter((e) => !position || readingOrder(e, position) > 0) : entries]);
    }
    totalBytes =
      progress.bytesRead +
      planned
        .flatMap(([, , entries]) => (Array.isArray(entries) ? entries.filter(readable) : []))
        .reduce((sum, e) => sum + e.manifest!.files.reduce((s, f) => s + f.sizeBytes, 0), 0);

    for (const [storeIndex, store, listed] of planned) {
      // The store the last attempt was reading, part of it read already.
      const resumedIn = storeIndex === progress.storeIndex && progress.id !== undefined;
      if (!Array.isArray(listed)) {
        const rest = `its archives after ${progress.folder}/${progress.id} (in name order) were not read`;
        progress.unreachable.push(resumedIn ? { ...listed, reason: listed.reason.replace(/none of its archives were read$/, rest) } : listed);
      }
      // Unmounted, a wrong prefix, copies never made: as wrong as damage (not a store a retry found read to the end).
      else if (listed.length === 0 && !resumedIn) progress.empty.push(store.url);
      else {
        for (const [index, entry] of listed.entries()) {
          const storeFailure = await readEntry(store, entry);
          progress.bytesRead += reading;
          reading = 0;
          if (storeFailure) {
            // Every later read would wait out the same failure and say it again.
            progress.unreachable.push({ store: store.url, reason: `${storeFailure.message}; ${listed.length - index} of the ${listed.length} backups to read were not read` });
            break;
          }
          // Judged and counted, in the same turn of the event loop (heartbeats are copies taken in other turns): a retry goes on after it.
          Object.assign(progress, { storeIndex, folder: entry.folder, id: entry.id });
        }
      }
      Object.assign(progress, { storeIndex: storeIndex + 1, folder: undefined, id: undefined });
    }
    // None of the database named, anywhere: a name mistyped (in a cron line, say) is the likelier cause.
    const none = req.database !== undefined && progress.intact + progress.problems.length + progress.problemsNotListed === 0;
    const meant = none ? otherDatabasesNote(req.database!, await databasesHeld(stores.filter((s) => !progress.unreachable.some((u) => u.store === s.url)))) : '';
    return {
      ...(req.database !== undefined ? { database: req.database } : {}),
      stores: stores.map((s) => s.url),
      unreachable: progress.unreachable,
      empty: progress.empty,
      intact: progress.intact,
      problems: progress.problems,
      problemsNotListed: progress.problemsNotListed,
      damaged: progress.damaged,
      unreadable: progress.unreadable,
      bytesRead: progress.bytesRead,
      durationMs: Date.now() - progress.startedMs,
      warnings: [
        ...(meant ? [`no store holds a backup of "${req.database!}": ${meant}`] : []),
        ...progress.warnings,
        ...(progress.warningsNotListed > 0 ? [`and ${progress.warningsNotListed} more warnings like these`] : []),
      ],
    };
  } finally {
    stopHeartbeat();
  }
}
