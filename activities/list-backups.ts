/**
 * listBackups: what `pgkeeper backups` and `pgkeeper status` show, read by the worker (which owns
 * the stores) so the CLI needs nothing but Temporal. Every backup of every store, merged by id:
 * where it is complete, where damaged and why; and the globals backups (roles, tablespaces).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { isEncrypted } from '../common/filters.js';
import { GLOBALS_FOLDER } from '../common/backup-keys.js';
import type { BackupManifest, GlobalsManifest } from '../common/manifest.js';
import { isDatabaseName, validateDatabaseName } from '../common/names.js';
import type { BackupListing, DrillProof, ListedBackup, ListedGlobals } from '../common/types.js';
import { databaseFolders, listEveryStore, type CatalogEntry } from './store/backup-catalog.js';
import { allStores } from './store/open-stores.js';

function parseProof(text: string | undefined): DrillProof | undefined {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as DrillProof);
  } catch {
    return undefined; // a proof that does not read proves nothing
  }
}

type Found = Awaited<ReturnType<typeof listEveryStore>>['found'][number];

/**
 * One record per backup id across the stores, in store order: complete as soon as one store holds
 * it whole (described by `whole`, from that store's manifest), with every store's state.
 */
async function mergeStores<T extends { status: 'complete' | 'damaged'; locations: ListedBackup['locations'] }>(
  found: Found[],
  blank: (entry: CatalogEntry) => T,
  whole: (manifest: NonNullable<CatalogEntry['manifest']>) => Partial<T>,
  also: (listed: T, found: Found) => Promise<void> = async () => undefined,
): Promise<T[]> {
  const byId = new Map<string, T>();
  for (const { store, entry } of found) {
    if (entry.status === 'partial') continue;
    const listed = byId.get(entry.id) ?? blank(entry);
    listed.locations.push({ store: store.url, status: entry.status === 'complete' ? 'complete' : 'damaged', ...(entry.reason ? { reason: entry.reason } : {}) });
    if (entry.status === 'complete' && listed.status !== 'complete') Object.assign(listed, { status: 'complete' }, whole(entry.manifest!));
    await also(listed, { store, entry });
    byId.set(entry.id, listed);
  }
  return [...byId.values()];
}

type Dated = { createdAt: string; finishedAt: string | null };

/**
 * Newest first. Backups of one second (ids are to the second) by when they finished, which their
 * manifests say to the millisecond; a damaged one without keeps the order the catalogs gave (a stable sort).
 */
const newestFirst = (a: Dated, b: Dated) => {
  const [x, y] = a.createdAt === b.createdAt && a.finishedAt && b.finishedAt ? [a.finishedAt, b.finishedAt] : [a.createdAt, b.createdAt];
  return x < y ? 1 : x > y ? -1 : 0;
};

export async function listBackups(config: Config, req: { database?: string }): Promise<BackupListing> {
  const stores = allStores(config);
  const unreachable = new Map<string, string>();
  // A store that does not answer is reported and its folders are missing; any other failure (access
  // denied, no such bucket) fails the listing rather than showing an empty store.
  const folders = (store: (typeof stores)[number]) =>
    databaseFolders(store).catch((err: unknown) => {
      if (!(err instanceof ApplicationFailure && err.type === FailureType.StoreUnavailable)) throw err;
      unreachable.set(store.url, err.message);
      return [] as string[];
    });
  const databases = req.database !== undefined ? [validateDatabaseName(req.database)] : [...new Set((await Promise.all(stores.map(folders))).flat())].filter(isDatabaseName).sort();
  const listFolder = async (folder: string) => {
    // A store that did not answer once is not asked again for every folder (each try takes its timeouts).
    const { found, unreachable: down } = await listEveryStore(stores.filter((s) => !unreachable.has(s.url)), folder, 'report');
    for (const u of down) unreachable.set(u.store, u.reason);
    return found;
  };
  const backups: ListedBackup[] = [];
  for (const database of databases) {
    const merged = await mergeStores<ListedBackup>(
      await listFolder(database),
      (entry) => ({
        id: entry.id,
        database,
        createdAt: new Date(entry.createdAtMs).toISOString(),
        status: 'damaged',
        locations: [],
        sizeBytes: null,
        sha256: null,
        compression: null,
        encrypted: null,
        verify: null,
        finishedAt: null,
        lastProvenAt: null,
      }),
      (manifest) => {
        const m = manifest as BackupManifest;
        return { sizeBytes: m.files[0]!.sizeBytes, sha256: m.files[0]!.sha256, compression: m.compression, encrypted: isEncrypted(m.filters), verify: m.verify, finishedAt: m.finishedAt };
      },
      async (listed, { store, entry }) => {
        if (!entry.drillProofKey) return;
        const proof = parseProof(await store.getText(entry.drillProofKey));
        if (proof && (!listed.lastProvenAt || proof.provenAt > listed.lastProvenAt)) listed.lastProvenAt = proof.provenAt;
      },
    );
    backups.push(...merged);
  }
  const globals =
    req.database !== undefined
      ? []
      : await mergeStores<ListedGlobals>(
          await listFolder(GLOBALS_FOLDER),
          (entry) => ({ id: entry.id, createdAt: new Date(entry.createdAtMs).toISOString(), status: 'damaged', locations: [], sizeBytes: null, encrypted: null, roles: null, finishedAt: null }),
          (manifest) => {
            const m = manifest as GlobalsManifest;
            return { sizeBytes: m.files[0]!.sizeBytes, encrypted: isEncrypted(m.filters), roles: m.roles, finishedAt: m.finishedAt };
          },
        );
  if (unreachable.size === stores.length) {
    // An empty listing would read as "no backups": fail instead (the stores answered nothing).
    throw ApplicationFailure.nonRetryable(
      `no store answered, so what they hold is unknown: ${[...unreachable].map(([store, reason]) => `${store} (${reason})`).join('; ')}. ` +
        "Check the worker's BACKUP_STORE/BACKUP_DIR and BACKUP_COPIES settings and the network, then try again",
      FailureType.StoreUnavailable,
    );
  }
  return {
    stores: stores.map((s) => s.url),
    unreachable: [...unreachable].map(([store, reason]) => ({ store, reason })),
    backups: backups.sort(newestFirst),
    globals: globals.sort(newestFirst),
  };
}
