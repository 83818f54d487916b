/**
 * listBackups: what `pgkeeper backups` and `pgkeeper status` show, read by the worker (which owns
 * the stores) so the CLI needs nothing but Temporal. Every backup of every store, merged by id:
 * where it is complete, where damaged and why; and the globals backups (roles, tablespaces). In
 * pages, so a store of thousands of backups stays within Temporal's payload limit.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { isEncrypted, recipientsOf } from '../common/filters.js';
import { GLOBALS_FOLDER } from '../common/backup-keys.js';
import type { BackupManifest, GlobalsManifest } from '../common/manifest.js';
import { isDatabaseName, validateDatabaseName } from '../common/names.js';
import { LISTING_PAGE_BYTES, listedNewestFirst } from '../common/listing-pages.js';
import type { BackupListing, DrillProof, ListedBackup, ListedGlobals, ListingCursor } from '../common/types.js';
import { databaseFolders, databasesHeld, groupFolder, judgeGroups, unreachableOrThrow, type CatalogEntry } from './store/backup-catalog.js';
import type { BackupStore, StoredObject } from './store/store.js';
import { allStores } from './store/open-stores.js';

function parseProof(text: string | undefined): DrillProof | undefined {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as DrillProof);
  } catch {
    return undefined; // a proof that does not read proves nothing
  }
}

type Found = { store: BackupStore; entry: CatalogEntry };

/** A backup as listed, and the drill proofs its stores hold (read only for the backups a page shows). */
interface Merged<T> {
  listed: T;
  proofs: { store: Found['store']; key: string }[];
}

/**
 * One record per backup id across the stores, in store order: complete as soon as one store holds
 * it whole (described by `whole`, from that store's manifest), with every store's state.
 */
function mergeStores<T extends { id: string; status: 'complete' | 'damaged'; locations: ListedBackup['locations'] }>(
  found: Found[],
  blank: (entry: CatalogEntry) => T,
  whole: (manifest: NonNullable<CatalogEntry['manifest']>) => Partial<T>,
): Merged<T>[] {
  const byId = new Map<string, Merged<T>>();
  for (const { store, entry } of found) {
    if (entry.status === 'partial') continue;
    const merged = byId.get(entry.id) ?? { listed: blank(entry), proofs: [] };
    const { listed } = merged;
    // A newer pgkeeper's backup is listed as damaged and flagged: a client older than this worker still shows it as needing attention.
    listed.locations.push({ store: store.url, status: entry.status === 'complete' ? 'complete' : 'damaged', ...(entry.reason ? { reason: entry.reason } : {}), ...(entry.status === 'newer' ? { newer: true as const } : {}) });
    if (entry.status === 'complete' && listed.status !== 'complete') Object.assign(listed, { status: 'complete' }, whole(entry.manifest!));
    if (entry.drillProofKey) merged.proofs.push({ store, key: entry.drillProofKey });
    byId.set(entry.id, merged);
  }
  return [...byId.values()];
}

/** When any store last proved the backup by a drill; null when none did, or no proof reads. */
async function lastProvenAt(proofs: Merged<unknown>['proofs']): Promise<string | null> {
  let last: string | null = null;
  for (const { store, key } of proofs) {
    const proof = parseProof(await store.getText(key));
    if (proof && (!last || proof.provenAt > last)) last = proof.provenAt;
  }
  return last;
}

function databaseBackups(found: Found[], database: string): Merged<ListedBackup>[] {
  return mergeStores<ListedBackup>(
    found,
    (entry) => ({
      id: entry.id,
      database,
      createdAt: new Date(entry.createdAtMs).toISOString(),
      snapshotAt: null,
      status: 'damaged',
      locations: [],
      sizeBytes: null,
      sha256: null,
      compression: null,
      encrypted: null,
      recipients: null,
      verify: null,
      finishedAt: null,
      lastProvenAt: null,
    }),
    (manifest) => {
      const m = manifest as BackupManifest;
      return { snapshotAt: m.startedAt, sizeBytes: m.files[0]!.sizeBytes, sha256: m.files[0]!.sha256, compression: m.compression, encrypted: isEncrypted(m.filters), recipients: recipientsOf(m.filters), verify: m.verify, finishedAt: m.finishedAt };
    },
  );
}

function globalsBackups(found: Found[]): Merged<ListedGlobals>[] {
  return mergeStores<ListedGlobals>(
    found,
    (entry) => ({ id: entry.id, createdAt: new Date(entry.createdAtMs).toISOString(), status: 'damaged', locations: [], sizeBytes: null, encrypted: null, recipients: null, roles: null, finishedAt: null }),
    (manifest) => {
      const m = manifest as GlobalsManifest;
      return { sizeBytes: m.files[0]!.sizeBytes, encrypted: isEncrypted(m.filters), recipients: recipientsOf(m.filters), roles: m.roles, finishedAt: m.finishedAt };
    },
  );
}

/** Room kept on a page for what a backup's record gains once it is on it (when a drill last proved it). */
const PROOF_BYTES = 48;
/** Backups of a folder judged per batch (judgeGroups reads their manifests a few at a time): a page that fills stops soon after. */
const JUDGED_PER_BATCH = 256;
/** A page with less room left than this ends before the next folder rather than list it for nothing. */
const FOLDER_MIN_BYTES = 2_000;

/**
 * One page of the listing (common/listing-pages.ts): folder by folder (the databases in order, then
 * the globals), each folder's backups newest first, until `pageBytes` of records; `next` says where the
 * following page starts. A page holds at least one backup, however large, so paging always ends.
 */
export async function listBackups(config: Config, req: { database?: string; from?: ListingCursor }, pageBytes = LISTING_PAGE_BYTES): Promise<BackupListing> {
  const stores = allStores(config);
  const unreachable = new Map<string, string>();
  // A store that cannot be read (down, access refused, its bucket gone) is reported and its folders
  // are missing; any other failure fails the listing rather than showing an empty store.
  const noAnswer = (store: BackupStore, err: unknown) => {
    const { reason } = unreachableOrThrow(store, err);
    unreachable.set(store.url, reason);
  };
  const folders = (store: BackupStore) =>
    databaseFolders(store).catch((err: unknown) => {
      noAnswer(store, err);
      return [] as string[];
    });
  const databases = req.database !== undefined ? [validateDatabaseName(req.database)] : [...new Set((await Promise.all(stores.map(folders))).flat())].filter(isDatabaseName).sort();
  const order = req.database !== undefined ? databases : [...databases, GLOBALS_FOLDER];
  // What each store that answers holds in a folder, by backup id. A store that did not answer once
  // is not asked again for every folder (each try takes its timeouts).
  const holdings = async (folder: string) => {
    const held: { store: BackupStore; groups: Map<string, StoredObject[]> }[] = [];
    for (const store of stores.filter((s) => !unreachable.has(s.url))) {
      await groupFolder(store, folder).then((groups) => held.push({ store, groups }), (err: unknown) => noAnswer(store, err));
    }
    return held;
  };
  // Backups `ids` (of a folder), judged in every store that holds them.
  const judged = async (folder: string, held: Awaited<ReturnType<typeof holdings>>, ids: string[]) => {
    const found: Found[] = [];
    for (const { store, groups } of held.filter((h) => !unreachable.has(h.store.url))) {
      const mine = new Map(ids.flatMap((id) => (groups.has(id) ? [[id, groups.get(id)!] as const] : [])));
      await judgeGroups(store, folder, mine).then((entries) => found.push(...entries.map((entry) => ({ store, entry }))), (err: unknown) => noAnswer(store, err));
    }
    return found;
  };
  const backups: ListedBackup[] = [];
  const globals: ListedGlobals[] = [];
  let used = 0;
  let next: ListingCursor | null = null;
  for (let i = firstFolder(order, req.from); i < order.length && !next; i++) {
    const folder = order[i]!;
    if (used > 0 && used > pageBytes - FOLDER_MIN_BYTES) {
      next = { folder };
      break;
    }
    const after = req.from?.folder === folder ? req.from.after : undefined;
    const held = await holdings(folder);
    // Newest first (ids carry the time), so the first page a person asks for shows the latest backups.
    const ids = [...new Set(held.flatMap((h) => [...h.groups.keys()]))].filter((id) => after === undefined || id < after).sort().reverse();
    let lastOnPage = after;
    // A few hundred at a time: a page that fills stops reading manifests soon after.
    for (let at = 0; at < ids.length && !next; at += JUDGED_PER_BATCH) {
      const found = await judged(folder, held, ids.slice(at, at + JUDGED_PER_BATCH));
      const merged: Merged<ListedBackup | ListedGlobals>[] = folder === GLOBALS_FOLDER ? globalsBackups(found) : databaseBackups(found, folder);
      for (const { listed, proofs } of merged.sort((a, b) => (a.listed.id < b.listed.id ? 1 : -1))) {
        const bytes = Buffer.byteLength(JSON.stringify(listed)) + PROOF_BYTES;
        if (used > 0 && used + bytes > pageBytes) {
          next = { folder, ...(lastOnPage === undefined ? {} : { after: lastOnPage }) };
          break;
        }
        used += bytes;
        lastOnPage = listed.id;
        if ('database' in listed) backups.push({ ...listed, lastProvenAt: await lastProvenAt(proofs) });
        else globals.push(listed);
      }
    }
  }
  if (unreachable.size === stores.length) {
    // An empty listing would read as "no backups": fail instead (the stores answered nothing).
    throw ApplicationFailure.nonRetryable(
      `no store answered, so what they hold is unknown: ${[...unreachable].map(([store, reason]) => `${store} (${reason})`).join('; ')}. ` +
        "Check the worker's BACKUP_STORE/BACKUP_DIR and BACKUP_COPIES settings and the network, then try again",
      FailureType.StoreUnavailable,
    );
  }
  // None of the database asked for: the names held, for a "did you mean" (a typo is the likelier cause).
  const none = req.database !== undefined && req.from === undefined && backups.length === 0;
  return {
    stores: stores.map((s) => s.url),
    unreachable: [...unreachable].map(([store, reason]) => ({ store, reason })),
    backups: backups.sort(listedNewestFirst),
    globals: globals.sort(listedNewestFirst),
    next,
    ...(none ? { others: await databasesHeld(stores.filter((s) => !unreachable.has(s.url))) } : {}),
  };
}

/**
 * Where a page starts in the listing's folders: at the cursor's folder, or, when that one is gone
 * (its backups deleted since the last page), at the first that sorts after it.
 */
function firstFolder(order: string[], from: ListingCursor | undefined): number {
  if (from === undefined) return 0;
  const at = order.findIndex((f) => f === GLOBALS_FOLDER || (from.folder !== GLOBALS_FOLDER && f >= from.folder));
  return at < 0 ? order.length : at;
}
