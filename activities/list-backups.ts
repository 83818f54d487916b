/**
 * listBackups: what `pgkeeper backups` and `pgkeeper status` show, read by the worker (which owns
 * the stores) so the CLI needs nothing but Temporal. Every backup of every store, merged by id:
 * where it is complete, where damaged and why.
 */
import type { Config } from '../common/config.js';
import { isEncrypted } from '../common/filters.js';
import type { BackupManifest } from '../common/manifest.js';
import { validateDatabaseName } from '../common/names.js';
import type { BackupListing, DrillProof, ListedBackup } from '../common/types.js';
import { databaseFolders, listEveryStore } from './store/backup-catalog.js';
import { allStores } from './store/open-stores.js';

function isDatabaseName(name: string): boolean {
  try {
    validateDatabaseName(name);
    return true;
  } catch {
    return false;
  }
}

function parseProof(text: string | undefined): DrillProof | undefined {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as DrillProof);
  } catch {
    return undefined; // a proof that does not read proves nothing
  }
}

export async function listBackups(config: Config, req: { database?: string }): Promise<BackupListing> {
  const stores = allStores(config);
  const folders = async (store: (typeof stores)[number]) => databaseFolders(store).catch(() => [] as string[]); // a store down is reported below
  const databases = req.database !== undefined ? [validateDatabaseName(req.database)] : [...new Set((await Promise.all(stores.map(folders))).flat())].filter(isDatabaseName).sort();
  const byId = new Map<string, ListedBackup>();
  const unreachable = new Map<string, string>();
  for (const database of databases) {
    const { found, unreachable: down } = await listEveryStore(stores, database);
    for (const u of down) unreachable.set(u.store, u.reason);
    for (const { store, entry } of found) {
      if (entry.status === 'partial') continue;
      const listed: ListedBackup = byId.get(entry.id) ?? {
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
      };
      listed.locations.push({ store: store.url, status: entry.status === 'complete' ? 'complete' : 'damaged', ...(entry.reason ? { reason: entry.reason } : {}) });
      if (entry.status === 'complete' && listed.status !== 'complete') {
        const m = entry.manifest as BackupManifest;
        Object.assign(listed, {
          status: 'complete',
          sizeBytes: m.files[0]!.sizeBytes,
          sha256: m.files[0]!.sha256,
          compression: m.compression,
          encrypted: isEncrypted(m.filters),
          verify: m.verify,
          finishedAt: m.finishedAt,
        });
      }
      if (entry.drillProofKey) {
        const proof = parseProof(await store.getText(entry.drillProofKey));
        if (proof && (!listed.lastProvenAt || proof.provenAt > listed.lastProvenAt)) listed.lastProvenAt = proof.provenAt;
      }
      byId.set(entry.id, listed);
    }
  }
  const backups = [...byId.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
  return { stores: stores.map((s) => s.url), unreachable: [...unreachable].map(([store, reason]) => ({ store, reason })), backups };
}
