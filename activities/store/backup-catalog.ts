/**
 * What a store holds, backup by backup. A backup is
 *   complete  when its manifest reads and names it, and every file it lists is there with its size;
 *   damaged   when its manifest exists but cannot be read or parsed, or a file it lists is missing
 *             or has another size, or a restore, drill or copy run read its archive back with
 *             another SHA-256 and it was not written since (damage-record.ts): listed as
 *             DAMAGED, never restored from this store, never counted by retention;
 *   newer     when its manifest is sound but written by a newer pgkeeper (a manifestVersion or a
 *             filter this one does not know): like damaged, nothing restores, copies or prunes it,
 *             but it is likely sound, so it is said apart and no one deletes it as damage;
 *   partial   when there is no manifest (a dump or upload cut short): never listed as a backup,
 *             swept by retention once it is a day old and a complete backup is newer.
 * Backups are ordered by the time in their id, so a damaged one still shows at its place.
 */
import { ApplicationFailure } from '@temporalio/common';
import { classifyKey, createdAtMsIn, GLOBALS_FOLDER } from '../../common/backup-keys.js';
import { FailureType } from '../../common/errors.js';
import { quoteInput } from '../../common/input-fields.js';
import { isDatabaseName } from '../../common/names.js';
import { ManifestError, parseManifest, type BackupManifest, type GlobalsManifest } from '../../common/manifest.js';
import type { StoreUnreachable } from '../../common/types.js';
import { mapWithConcurrency } from '../../common/map-with-concurrency.js';
import { damageReason } from './damage-record.js';
import type { BackupStore, StoredObject } from './store.js';

/** A pin older than this was left by a crashed run: it no longer protects anything. */
export const STALE_PIN_MS = 3 * 86_400_000;
/** Backups judged (their manifests read) at a time: enough to hide a bucket's round trips, few enough to leave it room. */
const JUDGED_AT_ONCE = 8;

/** What a pin holds: the run reading the backup (whose workflow a person can look up), and since when. */
export function pinRecord(run: { workflowId: string; runId: string } | undefined): string {
  return JSON.stringify({ ...run, pinnedAt: new Date().toISOString() }) + '\n';
}

/** A pin that could not be written (a store this worker may only read, say): the read goes on, unprotected from retention there. */
export function unpinnedWarning(url: string, err: unknown): string {
  return `the backup could not be pinned in ${url} (${(err as Error).message}), so a prune there may delete it while this run reads it`;
}

export interface CatalogEntry {
  id: string;
  folder: string;
  createdAtMs: number;
  status: 'complete' | 'damaged' | 'newer' | 'partial';
  /** Why it is damaged (or newer, or partial). */
  reason?: string;
  /** Damaged only by a damage record (damage-record.ts): a read that names this store checks it again. */
  recorded?: boolean;
  /**
   * Damaged in its archive's bytes (missing, of the wrong size, read back wrong) under a whole
   * manifest of this folder's own backup: not a manifest misfiled, of another kind or unreadable,
   * which may be some other backup's only record.
   */
  archiveDamaged?: true;
  manifest?: BackupManifest | GlobalsManifest;
  /** Every object belonging to the backup, pins and proofs included. */
  objects: StoredObject[];
  /** Pins of runs reading it now (stale ones excluded). */
  activePins: string[];
  drillProofKey?: string;
}

type Unread = { reason: string; newer?: true };

/** The manifest, why it cannot be read, or undefined when it is gone since the listing. */
async function readManifest(store: BackupStore, key: string, id: string): Promise<BackupManifest | GlobalsManifest | Unread | undefined> {
  let text: string | undefined;
  try {
    text = await store.getText(key);
  } catch (err) {
    // The store not answering is not the backup being damaged: let the caller retry. A manifest refused
    // (a file's permissions) is this backup's problem, said as such: not a whole store hidden for one file.
    if (err instanceof ApplicationFailure && err.type === FailureType.StoreUnavailable) throw err;
    return { reason: `manifest unreadable: ${(err as Error).message}` };
  }
  if (text === undefined) return undefined;
  try {
    return parseManifest(text, id);
  } catch (err) {
    if (err instanceof ManifestError) return err.newer ? { reason: err.message, newer: true } : { reason: `manifest unreadable: ${err.message}` };
    throw err;
  }
}

async function judge(store: BackupStore, folder: string, id: string, objects: StoredObject[]): Promise<Pick<CatalogEntry, 'status' | 'reason' | 'manifest' | 'recorded' | 'archiveDamaged'>> {
  const byKey = new Map(objects.map((o) => [o.key, o]));
  const manifestObject = objects.find((o) => classifyKey(o.key)?.part === 'manifest');
  if (!manifestObject) return { status: 'partial', reason: 'no manifest (a dump or upload that did not finish)' };
  const manifest = await readManifest(store, manifestObject.key, id);
  // Deleted since the listing (retention deletes the manifest first): what is left is no backup.
  if (manifest === undefined) return { status: 'partial', reason: 'its manifest was deleted while it was listed (retention, say)' };
  if (!('kind' in manifest)) return { status: manifest.newer ? 'newer' : 'damaged', reason: manifest.reason };
  const expectedKind = folder === GLOBALS_FOLDER ? 'globals' : 'database';
  if (manifest.kind !== expectedKind) return { status: 'damaged', reason: `manifest unreadable: it describes a ${manifest.kind} backup, not a ${expectedKind} backup`, manifest };
  if (manifest.kind === 'database' && manifest.database !== folder) {
    return { status: 'damaged', reason: `manifest names database ${quoteInput(manifest.database)}, but it is in folder "${folder}"`, manifest };
  }
  for (const file of manifest.files) {
    const stored = byKey.get(`${folder}/${file.name}`);
    if (!stored) return { status: 'damaged', reason: `archive ${file.name} is missing`, manifest, archiveDamaged: true };
    if (stored.sizeBytes !== file.sizeBytes) {
      return { status: 'damaged', reason: `archive ${file.name} is ${stored.sizeBytes} bytes, its manifest says ${file.sizeBytes}`, manifest, archiveDamaged: true };
    }
    const found = await damageReason(store, objects, stored);
    if (found) return { status: 'damaged', reason: found, manifest, recorded: true, archiveDamaged: true };
  }
  return { status: 'complete', manifest };
}

/** A store's objects in `folder` (a database's name or `.globals`), by backup id; objects that are not pgkeeper's left out. */
export async function groupFolder(store: BackupStore, folder: string): Promise<Map<string, StoredObject[]>> {
  const groups = new Map<string, StoredObject[]>();
  for (const object of await store.list(`${folder}/`)) {
    const key = classifyKey(object.key);
    if (!key || key.folder !== folder) continue; // not pgkeeper's (a user's notes, a seed-style dump)
    if (createdAtMsIn(folder, key.id) === undefined) continue;
    const group = groups.get(key.id) ?? [];
    group.push(object);
    groups.set(key.id, group);
  }
  return groups;
}

/** The backups whose objects `groupFolder` found, each judged (its manifest read), newest first. */
export async function judgeGroups(store: BackupStore, folder: string, groups: Map<string, StoredObject[]>, nowMs = Date.now()): Promise<CatalogEntry[]> {
  // Manifests read a few at a time: one after another, each waits on its round trip to a bucket.
  const entries = await mapWithConcurrency([...groups], JUDGED_AT_ONCE, async ([id, objects]): Promise<CatalogEntry> => {
    const pins = objects.filter((o) => classifyKey(o.key)?.part === 'pin');
    const proof = objects.find((o) => classifyKey(o.key)?.part === 'drill');
    return {
      id,
      folder,
      createdAtMs: createdAtMsIn(folder, id)!,
      ...(await judge(store, folder, id, objects)),
      objects,
      activePins: pins.filter((p) => nowMs - p.modifiedMs < STALE_PIN_MS).map((p) => p.key),
      ...(proof ? { drillProofKey: proof.key } : {}),
    };
  });
  return entries.sort(newestFirst);
}

/** Every backup in `folder` (a database's name or `.globals`), newest first. */
export async function listCatalog(store: BackupStore, folder: string, nowMs = Date.now()): Promise<CatalogEntry[]> {
  return judgeGroups(store, folder, await groupFolder(store, folder), nowMs);
}

/** When a backup's own objects were last written (pins, drill proofs and damage records, written later by its readers, aside). */
function writtenMs(entry: CatalogEntry): number {
  const own = entry.objects.filter((o) => !['pin', 'drill', 'damage'].includes(classifyKey(o.key)?.part ?? ''));
  return Math.max(0, ...own.map((o) => o.modifiedMs));
}

/**
 * Newest first. Ids carry the time to the second, and a small database's backup takes less than
 * that. Two backups started in one second (runs of one database never overlap) are ordered by
 * their manifests' start times, to the millisecond, or, when one has none, by when their objects
 * were written; so "latest" and retention's "newest" are the later one, not a coin toss.
 */
export function newestFirst(a: CatalogEntry, b: CatalogEntry): number {
  if (a.id === b.id) return 0; // one backup, seen in two stores
  if (a.createdAtMs !== b.createdAtMs) return b.createdAtMs - a.createdAtMs;
  const withinSecond = a.manifest && b.manifest ? Date.parse(b.manifest.startedAt) - Date.parse(a.manifest.startedAt) : writtenMs(b) - writtenMs(a);
  return withinSecond || (a.id < b.id ? 1 : -1);
}

/** The complete backups of a database in a store, newest first. */
export async function completeBackups(store: BackupStore, database: string): Promise<(CatalogEntry & { manifest: BackupManifest })[]> {
  return (await listCatalog(store, database)).filter((e): e is CatalogEntry & { manifest: BackupManifest } => e.status === 'complete');
}

/** The folders of a store that hold database backups (not `.globals`, nor anything that is not a database name). */
export async function databaseFolders(store: BackupStore): Promise<string[]> {
  return (await store.listFolders('')).filter((f) => !f.startsWith('.')).sort();
}

/** The databases of which any of `stores` holds a backup (complete or not); a store that does not answer adds none. */
export async function databasesHeld(stores: readonly BackupStore[]): Promise<string[]> {
  const held = await Promise.all(
    stores.map(async (store) => {
      const folders = (await databaseFolders(store).catch(() => [])).filter(isDatabaseName);
      // A folder of files pgkeeper did not write (the old script's dumps under legacy/, say) names no database.
      const withBackups = await mapWithConcurrency(folders, JUDGED_AT_ONCE, async (f) => ((await groupFolder(store, f).catch(() => new Map())).size > 0 ? f : undefined));
      return withBackups.filter((f): f is string => f !== undefined);
    }),
  );
  return [...new Set(held.flat())].sort();
}

/**
 * What makes a whole store unreadable: it does not answer, refuses this worker's credentials (a key
 * revoked since the worker started, which checked them), or its bucket is gone. A copy store in any
 * of these states must not keep a restore or a listing from the others.
 */
const STORE_UNREADABLE = new Set<string>([FailureType.StoreUnavailable, FailureType.StoreAccessDenied, FailureType.StoreMissing]);
export function isStoreUnreadable(err: unknown): err is ApplicationFailure {
  return err instanceof ApplicationFailure && STORE_UNREADABLE.has(err.type ?? '');
}

/** The store could not be read as a whole: noted, where the caller goes on without it; anything else is thrown. */
export function unreachableOrThrow(store: BackupStore, err: unknown): StoreUnreachable {
  if (!isStoreUnreadable(err)) throw err;
  return { store: store.url, reason: err.message };
}

/**
 * The primary (`stores[0]`) when it could not be read and another store could: the copies may lack
 * the newest backup (a copy run that failed), so which one is the latest is not known.
 */
export function primaryUnread(stores: readonly BackupStore[], unreachable: readonly StoreUnreachable[]): StoreUnreachable | undefined {
  return stores.length > 1 ? unreachable.find((u) => u.store === stores[0]!.url) : undefined;
}

/**
 * The catalogs of several stores. A store that cannot be read (unreachableOrThrow) is noted and
 * skipped, so a copy store being down never stops a restore from the primary; when none answers,
 * the first store's failure is thrown, unless `allDown` is 'report' (a listing says which).
 */
export async function listEveryStore(
  stores: BackupStore[],
  folder: string,
  allDown: 'throw' | 'report' = 'throw',
): Promise<{ found: { store: BackupStore; entry: CatalogEntry }[]; unreachable: StoreUnreachable[] }> {
  const found: { store: BackupStore; entry: CatalogEntry }[] = [];
  const unreachable: StoreUnreachable[] = [];
  let firstFailure: unknown;
  for (const store of stores) {
    try {
      for (const entry of await listCatalog(store, folder)) found.push({ store, entry });
    } catch (err) {
      unreachable.push(unreachableOrThrow(store, err));
      firstFailure ??= err;
    }
  }
  if (unreachable.length === stores.length && firstFailure && allDown === 'throw') throw firstFailure;
  return { found, unreachable };
}
