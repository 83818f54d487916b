/**
 * copyBackup: the 3-2-1 rule. Fills one copy store with every complete backup of a folder (a
 * database, or `.globals`) that the primary has and the copy lacks (or holds damaged), newest
 * first: so a copy that failed last night is made by tonight's run. Each archive is streamed
 * across, read back from the copy and hashed, and compared with the manifest before the copy's
 * sidecar and manifest are written: a copy is complete only once it is proven. A primary archive
 * found damaged on the way is recorded so (damage-record.ts), and the backup is taken from another
 * copy store that holds it intact, as one the primary holds recorded damaged is; with none, it is
 * left out (said once, when found), not copied.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { pipeline } from 'node:stream/promises';
import { backupKeys, GLOBALS_FOLDER } from '../common/backup-keys.js';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { validateDatabaseName } from '../common/names.js';
import { heartbeatEvery } from './heartbeat.js';
import { sidecarText } from './publish-backup.js';
import { listCatalog, type CatalogEntry } from './store/backup-catalog.js';
import { manifestArchive, recordProvenDamage } from './store/damage-record.js';
import { copyStores, namedStore, primaryStore } from './store/open-stores.js';
import type { BackupStore } from './store/store.js';
import { measureTap } from './stream/taps.js';

export interface CopyRequest {
  /** A database's name, or `.globals`. */
  folder: string;
  /** The copy store's URL. */
  store: string;
}

export interface CopyResult {
  store: string;
  copied: string[];
  /** Backups whose primary archive a copy found damaged (and recorded so): never copied, nor failing the run. */
  skipped: { id: string; reason: string }[];
}

async function hashOf(store: BackupStore, key: string, signal: AbortSignal, onBytes: (n: number) => void): Promise<{ sizeBytes: number; sha256: string }> {
  const tap = measureTap(true);
  tap.on('data', (chunk: Buffer) => onBytes(chunk.length));
  await pipeline(await store.get(key, { signal }), tap, { signal });
  return tap.result();
}

/** A fallback source (another copy store) that failed to hand a backup over: that backup stays out, the copy run goes on. */
class SourceFault extends Error {
  constructor(from: BackupStore, cause: unknown) {
    super(`${from.url} could not hand it over (${cause instanceof Error ? cause.message : String(cause)})`);
  }
}

/**
 * Copies one backup from `from` to `to`: copied, or why not (its source archive found damaged, and
 * recorded so there). From a `fallback` source, the source's own failures are SourceFaults; the
 * copy store's failures fail the run either way.
 */
async function copyOne(from: BackupStore, to: BackupStore, folder: string, entry: CatalogEntry, onBytes: (n: number) => void, fallback = false): Promise<{ skipped?: string }> {
  const ctx = Context.current();
  const manifest = entry.manifest!;
  const keys = backupKeys(folder, entry.id, manifest.filters);
  const file = manifest.files[0]!;
  const sourceFault = (err: unknown) => (fallback && !ctx.cancellationSignal.aborted ? new SourceFault(from, err) : err);
  const fromSource = <T>(work: Promise<T>) => work.catch((err: unknown) => Promise.reject(sourceFault(err)));
  // The source's bytes are hashed as they go: a copy that reads back wrong because its source
  // rotted is the source's damage, not the copy's, and must not fail every later run.
  const read = measureTap(true);
  let firstFailed: 'source' | 'copy' | undefined;
  const reading = pipeline(await fromSource(from.get(keys.archive, { signal: ctx.cancellationSignal })), read, { signal: ctx.cancellationSignal }).catch((err: unknown) => {
    firstFailed ??= 'source';
    throw err;
  });
  const putting = to.put(keys.archive, read, { signal: ctx.cancellationSignal, expectedBytes: file.sizeBytes }).catch((err: unknown) => {
    firstFailed ??= 'copy';
    read.destroy(); // so the read of the source ends too, whatever the store did with its body
    throw err;
  });
  const [readOutcome, putOutcome] = await Promise.allSettled([reading, putting]);
  const sourceFailed = readOutcome.status === 'rejected' ? (readOutcome.reason as unknown) : undefined;
  const rotted = sourceFailed
    ? sourceFailed instanceof ApplicationFailure && sourceFailed.type === FailureType.ChecksumMismatch // an S3 store's own checksum
    : read.result().sha256 !== file.sha256 || read.result().sizeBytes !== file.sizeBytes;
  if (rotted) {
    await to.delete(keys.archive);
    const expected = manifestArchive(folder, entry.id, file);
    const found = await recordProvenDamage(from, expected, ctx.info.workflowExecution, ctx.cancellationSignal);
    if (found.verdict === 'damaged') {
      return { skipped: `its archive in ${from.url} is DAMAGED (${found.reason})${found.warnings.length ? `; ${found.warnings.join('; ')}` : ''}` };
    }
    throw sourceFault(
      ApplicationFailure.retryable(
        `${entry.id} read from ${from.url} did not match its manifest, and read again it ${found.verdict === 'intact' ? 'did' : found.verdict === 'changed' ? 'had been written again meanwhile' : `could not be checked (${found.warnings.join('; ')})`}: the copy is retried`,
        FailureType.StoreFailed,
      ),
    );
  }
  if (sourceFailed && firstFailed === 'source' && fallback) throw sourceFault(sourceFailed);
  // The source's own failure (classified) is the cause; a store that gave up reading it follows from it.
  if (sourceFailed instanceof ApplicationFailure) throw sourceFailed;
  if (putOutcome.status === 'rejected') throw putOutcome.reason;
  if (sourceFailed) throw sourceFailed;
  const proven = await hashOf(to, keys.archive, ctx.cancellationSignal, onBytes);
  if (proven.sha256 !== file.sha256 || proven.sizeBytes !== file.sizeBytes) {
    await to.delete(keys.archive);
    // Retried (not ChecksumMismatch, which is final): a copy garbled on its way may read right next time.
    throw ApplicationFailure.retryable(
      `the copy of ${entry.id} in ${to.url} reads back as ${proven.sizeBytes} bytes, sha256 ${proven.sha256.slice(0, 12)}…; its manifest says ${file.sizeBytes} bytes, ${file.sha256.slice(0, 12)}…; the copy was removed`,
      FailureType.StoreFailed,
    );
  }
  await to.put(keys.sidecar, sidecarText(file.sha256, file.name));
  const manifestText = await fromSource(from.getText(keys.manifest));
  if (manifestText === undefined) throw sourceFault(ApplicationFailure.nonRetryable(`${entry.id} disappeared from ${from.url} while it was copied`, FailureType.BackupNotFound));
  await to.put(keys.manifest, manifestText);
  // A copy found damaged there (damage-record.ts) is whole again: its record goes. The copy is
  // complete already; a record left (the store gone a moment after) names the archive version
  // it was found in, not this one, so it no longer counts.
  await to.delete(keys.damage).catch(() => undefined);
  return {};
}

/**
 * The other copy stores' intact backups, each store listed once per copy run and only when asked:
 * where a backup the primary holds damaged is taken from, so a rotten primary archive does not also
 * cost a copy store added since its copy. A store that cannot be listed is passed over (its own
 * copy run says so).
 */
function intactElsewhere(config: Config, to: BackupStore, folder: string): (id: string) => Promise<{ from: BackupStore; entry: CatalogEntry }[]> {
  const others = copyStores(config).filter((s) => s.url !== to.url);
  let listed: Promise<Map<string, CatalogEntry>[]> | undefined;
  const listAll = () =>
    Promise.all(others.map(async (store) => new Map((await listCatalog(store, folder).catch(() => [])).filter((e) => e.status === 'complete').map((e) => [e.id, e]))));
  return async (id) => {
    listed ??= listAll();
    return (await listed).flatMap((complete, at) => (complete.has(id) ? [{ from: others[at]!, entry: complete.get(id)! }] : []));
  };
}

export async function copyBackup(config: Config, req: CopyRequest): Promise<CopyResult> {
  if (req.folder !== GLOBALS_FOLDER) validateDatabaseName(req.folder);
  const primary = primaryStore(config);
  const to = namedStore(config, req.store);
  let bytes = 0;
  let current = '';
  const stopHeartbeat = heartbeatEvery(1_000, () => ({ phase: `copying ${current} to ${to.url}`, bytes }));
  try {
    const present = new Set((await listCatalog(to, req.folder)).filter((e) => e.status === 'complete').map((e) => e.id));
    // Newest first; those the primary holds damaged (recorded) too, to be taken from elsewhere.
    const wanted = (await listCatalog(primary, req.folder)).filter((e) => !present.has(e.id) && (e.status === 'complete' || e.status === 'damaged'));
    const elsewhere = intactElsewhere(config, to, req.folder);
    const copied: string[] = [];
    const skipped: CopyResult['skipped'] = [];
    for (const entry of wanted) {
      current = entry.id;
      const notTaken: string[] = entry.status === 'damaged' ? [`it is DAMAGED in ${primary.url} (${entry.reason ?? 'damaged'})`] : [];
      if (entry.status === 'complete') {
        // The primary's own failure to hand it over fails the run (retried), as before; its damage is said.
        const outcome = await copyOne(primary, to, req.folder, entry, (n) => (bytes += n));
        if (!outcome.skipped) {
          copied.push(entry.id);
          continue;
        }
        notTaken.push(outcome.skipped);
      }
      let taken = false;
      for (const source of await elsewhere(entry.id)) {
        try {
          const outcome = await copyOne(source.from, to, req.folder, source.entry, (n) => (bytes += n), true);
          if (!outcome.skipped) {
            taken = true;
            break;
          }
          notTaken.push(outcome.skipped);
        } catch (err) {
          // Another store that lists the backup but cannot hand it over: that one backup stays out, not every later copy run.
          if (!(err instanceof SourceFault)) throw err;
          notTaken.push(err.message);
        }
      }
      if (taken) copied.push(entry.id);
      else if (entry.status === 'complete' || notTaken.length > 1) skipped.push({ id: entry.id, reason: `${notTaken.join('; ')}; so it was not copied` });
    }
    return { store: to.url, copied, skipped };
  } finally {
    stopHeartbeat();
  }
}
