/**
 * resolveBackup: turn what the user typed (a backup id, "latest", or the key of an archive) into
 * one archive in one store, and pin it there so retention leaves it alone while the run reads it.
 * Stores are searched in order (primary, then copies) unless the input names one; the first
 * intact copy wins. A damaged newest backup is never skipped silently: "latest" then refuses,
 * naming the damaged backup, the newest complete one and the command that restores it (complete:
 * its manifest reads and its files have their sizes; the checksum is verified as it restores).
 */
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { parseBackupId } from '../common/backup-id.js';
import { backupKeys, classifyKey, GLOBALS_FOLDER, manifestKey, sidecarKey } from '../common/backup-keys.js';
import { DEFAULT_TASK_QUEUE, type Config } from '../common/config.js';
import { FailureType, InputError } from '../common/errors.js';
import { filtersFromName } from '../common/filters.js';
import { quoteInput } from '../common/input-fields.js';
import type { BackupManifest } from '../common/manifest.js';
import { otherDatabasesNote, validateDatabaseName } from '../common/names.js';
import type { RestoreOptions } from '../common/restore-input.js';
import { isDatedInFuture } from '../common/retention-plan.js';
import type { ResolvedBackup, StoreUnreachable } from '../common/types.js';
import { requireIdentityFor } from './encryption.js';
import { withoutSettings } from './sealed-properties.js';
import { needsNewerPgkeeper, rejectingInput } from './failures.js';
import { sidecarHash } from './publish-backup.js';
import { databasesHeld, listEveryStore, newestFirst, pinRecord, primaryUnread, unpinnedWarning, type CatalogEntry } from './store/backup-catalog.js';
import { allStores, namedStore } from './store/open-stores.js';
import type { BackupStore } from './store/store.js';
import { checkKey } from './store/store-key.js';
import { lastArgument, shellWord } from '../common/shell-word.js';


export interface ResolveRequest {
  backup: string;
  database?: string;
  /** Only this store (its URL). */
  store?: string;
  /** For the message that names the command to run instead: the restore's target, whether it replaces it, and its other options. */
  target?: string;
  replace?: boolean;
  options?: RestoreOptions;
  /** A name unique to the run (its run id): the backup is pinned under it. */
  pin?: string;
}

/** Seed-style names written by the old backup.sh, `<database>_<yyyymmdd>_<hhmmss>.dump`, and such a file compressed or encrypted by hand (.zst, .age). */
const SEED_NAME = /^([^]+)_(\d{8})_(\d{6})\.dump(?:\.zst)?(?:\.age)?$/;

function fromManifest(store: BackupStore, manifest: BackupManifest): ResolvedBackup {
  const keys = backupKeys(manifest.database, manifest.id, manifest.filters);
  const archive = manifest.files[0]!;
  return {
    kind: 'manifest',
    label: manifest.id,
    database: manifest.database,
    store: store.url,
    archiveKey: keys.archive,
    manifestKey: keys.manifest,
    sizeBytes: archive.sizeBytes,
    sha256: archive.sha256,
    filters: manifest.filters,
    plaintext: manifest.plaintext,
    dumpBytes: manifest.dumpBytes,
    tocEntries: manifest.toc.entries || null,
    ...withoutSettings(manifest.databaseProperties),
    pinKey: null,
    warnings: manifest.databaseProperties ? [] : [`${manifest.id} was made by a pgkeeper that did not record database-level properties (owner, privileges, settings, locale): they are not restored`],
  };
}

interface Sighting {
  store: BackupStore;
  entry: CatalogEntry;
}

/** What the stores hold of one database: `byId` groups every sighting by id, newest id first. */
interface Sightings {
  byId: Map<string, Sighting[]>;
  /** Objects of backups still being written or cut short: no backups, but named in a refusal. */
  partial: Sighting[];
  /** Stores that could not be read; each is named in `warnings` too. */
  silent: StoreUnreachable[];
}

async function sightings(stores: BackupStore[], database: string, warnings: string[]): Promise<Sightings> {
  const { found, unreachable } = await listEveryStore(stores, database);
  for (const u of unreachable) warnings.push(`store ${u.store} could not be read, so its copies were not considered: ${u.reason}`);
  const byId = new Map<string, Sighting[]>();
  const partial: Sighting[] = [];
  for (const { store, entry } of found) {
    if (entry.status === 'partial') partial.push({ store, entry });
    else byId.set(entry.id, [...(byId.get(entry.id) ?? []), { store, entry }]);
  }
  return { byId: new Map([...byId].sort(([, a], [, b]) => newestFirst(a[0]!.entry, b[0]!.entry))), partial, silent: unreachable };
}

/**
 * The first sighting to read. A restore that names its store (--store) reads a backup damaged
 * there only by a damage record again: so a person checks a store mended by hand, and a verified
 * read clears the record (read-first-intact.ts).
 */
function intact(seen: Sighting[] | undefined, named = false): Sighting | undefined {
  return seen?.find((s) => s.entry.status === 'complete' || (named && s.entry.recorded));
}

/**
 * The backup read from its first intact sighting, with the other intact ones as copies to fall
 * back on; a damaged one passed over is said (3-2-1 no longer holds for it).
 */
function fromSightings(seen: Sighting[], good: Sighting, warnings: string[]): ResolvedBackup {
  for (const s of seen.filter((s) => s.entry.status === 'damaged' || s.entry.status === 'newer')) {
    warnings.push(
      s === good
        ? `${s.entry.id} is recorded as DAMAGED in ${s.store.url} (${s.entry.reason}); read again there, as asked: a verified read clears the record`
        : s.entry.status === 'newer'
          ? `${s.entry.id} in ${s.store.url} was ${s.entry.reason}; it is read from ${good.store.url}`
          : `${s.entry.id} is DAMAGED in ${s.store.url} (${s.entry.reason}); it is read from ${good.store.url}`,
    );
  }
  const copies = seen.filter((s) => s !== good && s.entry.status === 'complete').map((s) => s.store.url);
  return { ...fromManifest(good.store, good.entry.manifest as BackupManifest), ...(copies.length ? { copies } : {}) };
}

/** Whether every store's copy of a backup is one only a newer pgkeeper reads (so not damaged). */
function onlyNewer(seen: Sighting[]): boolean {
  return seen.every((s) => s.entry.status === 'newer');
}

function damagedReason(seen: Sighting[]): string {
  return seen.map((s) => `${s.entry.reason} in ${s.store.url}`).join('; ');
}

/** `queue`: this worker's task queue when it is not the default one, which the command must then name. */
type Into = Pick<ResolveRequest, 'target' | 'replace' | 'options' | 'store'> & { queue?: string };

/** The command that restores `id` as the refused restore would have: same target, replace, store, options and queue. */
function restoreCommand(id: string, { target, replace, options = {}, store, queue }: Into): string {
  const into = target === undefined ? '--target <target>' : `--target ${shellWord(target)}${replace ? ` --replace --confirm ${shellWord(target)}` : ''}`;
  const rest = [
    ...(options.jobs !== undefined ? [`--jobs ${options.jobs}`] : []),
    ...(options.noOwner ? ['--no-owner'] : []),
    ...(options.noPrivileges ? ['--no-privileges'] : []),
    ...(options.noTablespaces ? ['--no-tablespaces'] : []),
    ...(options.globals !== undefined ? [`--globals ${shellWord(options.globals)}`] : []),
    ...(store !== undefined ? [`--store ${shellWord(store)}`] : []),
    ...(queue !== undefined ? [`--queue ${shellWord(queue)}`] : []),
  ].map((flag) => ` ${flag}`).join('');
  return id.startsWith('-') ? `pgkeeper restore ${into}${rest} ${lastArgument(id)}` : `pgkeeper restore ${shellWord(id)} ${into}${rest}`;
}

/** The archive of a manifest-less sighting (a run that did not finish, or a manifest removed), if it has one. */
function orphanArchive(sighting: Sighting): string | undefined {
  return sighting.entry.objects.find((o) => classifyKey(o.key)?.part === 'archive')?.key;
}

async function resolveLatest(stores: BackupStore[], database: string, into: Into, warnings: string[]): Promise<ResolvedBackup> {
  const { byId: byTime, partial, silent } = await sightings(stores, database, warnings);
  // A backup dated in the future (a clock that ran ahead, a key brought in by hand) is not newer
  // than today's: it comes last, and is "latest" only when there is nothing else.
  const nowMs = Date.now();
  const inFuture = ([, seen]: [string, Sighting[]]) => isDatedInFuture(seen[0]!.entry.createdAtMs, nowMs);
  const byId = new Map([...byTime].sort((a, b) => Number(inFuture(a)) - Number(inFuture(b))));
  const [newest] = byId;
  // Backups are written to the primary first and copied from it, so a copy down hides nothing
  // newer. The primary down does: the copies may lack the newest (a copy run that failed), and
  // "latest" taken from them could put an older backup in place of a live database. The person
  // picks, knowing that. (stores[0] is the primary unless --store named one store.)
  const primarySilent = primaryUnread(stores, silent);
  if (primarySilent) {
    const older = [...byId].find(([, seen]) => intact(seen));
    throw ApplicationFailure.nonRetryable(
      `the primary store ${primarySilent.store} could not be read (${primarySilent.reason}), so which backup of "${database}" is the latest is not known; ` +
        (older
          ? `the newest the other stores hold is ${older[0]} in ${intact(older[1])!.store.url}: restore it by its id if it will do (\`${restoreCommand(older[0], into)}\`), or try again once the store answers`
          : 'no other store holds a complete backup of it: try again once the store answers'),
      FailureType.StoreUnavailable,
    );
  }
  if (!newest) {
    // A name mistyped is likelier than a database never backed up, once the stores hold others.
    const others = otherDatabasesNote(database, await databasesHeld(stores));
    throw ApplicationFailure.nonRetryable(
      `no backup of "${database}" in ${stores.filter((s) => !silent.some((u) => u.store === s.url)).map((s) => s.url).join(', ')}${others && `; ${others}`}; if the name is right, run \`pgkeeper backup ${lastArgument(database)}\` first`,
      FailureType.BackupNotFound,
    );
  }
  const [id, seen] = newest;
  const good = intact(seen, into.store !== undefined);
  if (good) {
    // "latest" is the newest backup, and an archive without a manifest is none; but one newer than
    // it is what the person most likely meant, so the restore says so, with the command for it.
    // A partial sighting of a backup intact elsewhere (a copy whose manifest is not written yet) is that backup.
    const newer = partial
      .filter((p) => !byId.has(p.entry.id) && newestFirst(p.entry, good.entry) < 0)
      .sort((a, b) => newestFirst(a.entry, b.entry))
      .map((p) => ({ store: p.store, archive: orphanArchive(p) }))
      .find((p) => p.archive !== undefined);
    if (newer) {
      warnings.push(
        `a newer archive, ${newer.archive} in ${newer.store.url}, has no manifest (its run did not finish, or the manifest was removed), so "latest" is ${id}; to restore that archive instead: ${restoreCommand(newer.archive!, into)}`,
      );
    }
    const [ahead] = [...byId].filter((b) => inFuture(b) && intact(b[1])).map(([aheadId]) => aheadId);
    if (ahead !== undefined && ahead !== id) {
      warnings.push(`${ahead} is dated in the future (a clock that ran ahead, or a key brought in), so "latest" is ${id}, the newest dated up to now; to restore ${ahead} instead: ${restoreCommand(ahead, into)}`);
    }
    return fromSightings(seen, good, warnings);
  }
  const fallback = [...byId].find(([, s]) => intact(s));
  if (onlyNewer(seen)) {
    // Not damage: the person needs to know that upgrading restores the newest data, before any fallback.
    throw needsNewerPgkeeper(
      `the newest backup of "${database}", ${id},`,
      seen[0]!.entry.reason!,
      fallback && `restore the newest backup this pgkeeper reads, ${fallback[0]} (older data): \`${restoreCommand(fallback[0], into)}\``,
    );
  }
  throw ApplicationFailure.nonRetryable(
    `the newest backup of "${database}", ${id}, is DAMAGED (${damagedReason(seen)}); ` +
      (fallback
        ? `the newest complete one is ${fallback[0]} (manifest and sizes check out; its checksum is verified as it restores): restore it with \`${restoreCommand(fallback[0], into)}\``
        : 'no complete backup of it exists'),
    FailureType.BackupDamaged,
  );
}

/** `elsewhere`: the stores a restore naming one store (--store) leaves out, asked only when the backup is damaged in it. */
async function resolveId(stores: BackupStore[], id: string, database: string, into: Into, warnings: string[], elsewhere: BackupStore[]): Promise<ResolvedBackup> {
  const { byId, partial } = await sightings(stores, database, warnings);
  const seen = byId.get(id);
  const good = intact(seen, into.store !== undefined);
  if (good) return fromSightings(seen!, good, warnings);
  if (seen && onlyNewer(seen)) throw needsNewerPgkeeper(`backup ${id}`, seen[0]!.entry.reason!);
  if (seen) {
    const there = (await listEveryStore(elsewhere, database, 'report')).found.find(({ entry }) => entry.id === id && entry.status === 'complete');
    throw ApplicationFailure.nonRetryable(
      `backup ${id} is DAMAGED (${damagedReason(seen)}); ` +
        (there
          ? `it is intact in ${there.store.url}: restore it from there with \`${restoreCommand(id, { ...into, store: there.store.url })}\``
          : `restore another backup (\`pgkeeper backups ${lastArgument(database)}\` lists them)`),
      FailureType.BackupDamaged,
    );
  }
  // The objects of a run that never wrote its manifest are no backup, but their archive may restore by key.
  const unfinished = partial.find(({ entry }) => entry.id === id);
  const archive = unfinished && orphanArchive(unfinished);
  if (unfinished && archive) {
    throw ApplicationFailure.nonRetryable(
      `${id} in ${unfinished.store.url} has no manifest (its run did not finish, or the manifest was removed), so it is no backup pgkeeper vouches for; its archive can still be restored by key, ${unfinished.entry.objects.some((o) => classifyKey(o.key)?.part === 'sidecar') ? 'checked against its .sha256 sidecar' : 'with no checksum to check it against (it has no .sha256 sidecar either)'}: ${restoreCommand(archive, into)}`,
      FailureType.BackupNotFound,
    );
  }
  // Ids of globals backups look like those of a database named "globals".
  const globals = (await Promise.all(stores.map((s) => s.stat(manifestKey(GLOBALS_FOLDER, id)).catch(() => undefined)))).some(Boolean);
  if (globals) {
    throw ApplicationFailure.nonRetryable(
      `${id} is a globals backup (roles and tablespaces), not a database backup: a restore applies it with --globals ${id} (in the UI, "globals": "${id}") beside the database backup it restores`,
      FailureType.InvalidInput,
    );
  }
  throw ApplicationFailure.nonRetryable(`backup ${id} is in none of ${stores.map((s) => s.url).join(', ')}; list backups with \`pgkeeper backups ${lastArgument(database)}\``, FailureType.BackupNotFound);
}

/** An absolute path is accepted for a local store when it lies inside it: it becomes the key below its root. */
function keyIn(stores: BackupStore[], backup: string): { key: string; stores: BackupStore[] } {
  if (!backup.startsWith('/')) return { key: checkKey(backup), stores };
  for (const store of stores.filter((s) => s.kind === 'file')) {
    const root = store.url.slice('file://'.length);
    const relative = path.relative(root, path.resolve(backup));
    if (relative && !relative.startsWith('..') && !path.isAbsolute(relative)) return { key: checkKey(relative.split(path.sep).join('/')), stores: [store] };
  }
  throw new InputError(`${quoteInput(backup)} leaves the local store${stores.length > 1 ? 's' : ''} (${stores.map((s) => s.url).join(', ')}); give a backup id or a path inside the store`);
}

async function resolveKey(stores: BackupStore[], req: ResolveRequest, into: Into): Promise<ResolvedBackup> {
  if (req.backup.endsWith('.partial')) throw new InputError(`${quoteInput(req.backup)} is an unfinished file (a dump still being written, or left by a crash); it is never restored`);
  const filters = filtersFromName(req.backup);
  if (!filters) throw new InputError(`${quoteInput(req.backup)} is not an archive (a name ending .dump, .dump.zst, .dump.age or .dump.zst.age); give a backup id or the key of an archive`);
  const { key, stores: candidates } = keyIn(stores, req.backup);
  const classified = classifyKey(key);
  for (const store of candidates) {
    const object = await store.stat(key);
    if (!object) continue;
    const name = key.split('/').pop()!;
    // Named by pgkeeper or by backup.sh: the name says which database it holds, and a "database"
    // given beside it must agree, as it must beside an id.
    const seed = SEED_NAME.exec(name);
    const named = classified?.part === 'archive' ? parseBackupId(classified.id).database : seed ? validateDatabaseName(seed[1], 'database part of the file name') : undefined;
    if (named !== undefined && req.database !== undefined && named !== req.database) {
      throw new InputError(`${quoteInput(req.backup)} is named for database "${named}", not "${req.database}"; leave the database out (--database, "database"), or give the archive of "${req.database}"`);
    }
    // A pgkeeper archive named by its key: the backup it belongs to, with all the checks of an id.
    if (classified?.part === 'archive' && (await store.stat(`${classified.folder}/${classified.id}.manifest.json`))) {
      return resolveId([store], classified.id, named!, into, [], []);
    }
    const database = named ?? req.database;
    if (database === undefined) {
      throw new InputError(`cannot tell which database ${name} holds from its name (expected <database>-<yyyymmddThhmmssZ>-<8 hex>.dump… or <database>_<yyyymmdd>_<hhmmss>.dump…); give "database" too`);
    }
    const sidecar = await store.getText(sidecarKey(key));
    let sha256: string | null = null;
    if (sidecar !== undefined) {
      const recorded = sidecarHash(sidecar);
      if (!recorded) throw ApplicationFailure.nonRetryable(`${sidecarKey(key)} is not in sha256sum format ("<64 hex digits>  <file name>"); fix or remove it`, FailureType.CorruptArchive);
      sha256 = recorded;
    }
    return {
      kind: 'loose',
      label: key,
      database,
      store: store.url,
      archiveKey: key,
      manifestKey: null,
      sizeBytes: object.sizeBytes,
      sha256,
      filters,
      plaintext: null,
      dumpBytes: null,
      tocEntries: null,
      properties: null,
      pinKey: null,
      warnings: [
        sha256
          ? `${key} has no manifest: checksum verified against its .sha256 sidecar; tables, row counts and database-level properties were not checked`
          : `${key} has no manifest and no .sha256 sidecar: checksum not verified (the archive was read through with pg_restore instead); tables, row counts and database-level properties were not checked`,
      ],
    };
  }
  throw new InputError(`no archive ${quoteInput(key)} in ${candidates.map((s) => s.url).join(', ')}; list backups with \`pgkeeper backups\``);
}

export async function resolveBackup(config: Config, req: ResolveRequest): Promise<ResolvedBackup> {
  const warnings: string[] = [];
  const into: Into = { ...req, ...(config.temporal.taskQueue !== DEFAULT_TASK_QUEUE ? { queue: config.temporal.taskQueue } : {}) };
  const found = await rejectingInput(config, async () => {
    const stores = req.store ? [namedStore(config, req.store)] : allStores(config);
    if (req.backup === 'latest') return resolveLatest(stores, validateDatabaseName(req.database), into, warnings);
    if (req.backup.includes('/') || filtersFromName(req.backup) || req.backup.endsWith('.partial')) return resolveKey(stores, req, into);
    const { id, database } = parseBackupId(req.backup);
    if (req.database !== undefined && req.database !== database) {
      throw new InputError(`backup ${id} is a backup of "${database}", not of "${req.database}"; leave out "database" or pick another backup`);
    }
    return resolveId(stores, id, database, into, warnings, req.store ? allStores(config).filter((s) => !stores.includes(s)) : []);
  });
  const backup = { ...found, warnings: [...warnings, ...found.warnings] };
  await requireIdentityFor(backup.filters, config.encryption.identityFile, backup.label);
  if (!req.pin || backup.kind !== 'manifest') return backup;
  const pinKey = backupKeys(backup.database, backup.label, backup.filters).pin(req.pin);
  const store = namedStore(config, backup.store);
  try {
    await store.put(pinKey, pinRecord(Context.current().info.workflowExecution));
  } catch (err) {
    // A worker that may only read the store still restores: nothing to unpin there afterwards
    // (the copies, which may be writable, are pinned with the same key while it reads).
    if (err instanceof ApplicationFailure && err.type === FailureType.StoreUnavailable) throw err;
    return { ...backup, pinKey, pinRefused: true, warnings: [...backup.warnings, unpinnedWarning(backup.store, err)] };
  }
  // Read after the pin is written: a retention that deleted the manifest before it could see the
  // pin deletes the rest too (apply-retention.ts), so the restore stops here, not halfway through.
  if (backup.manifestKey && !(await store.stat(backup.manifestKey))) {
    await store.delete(pinKey).catch(() => undefined);
    throw ApplicationFailure.nonRetryable(
      `${backup.label} was deleted from ${backup.store} (by retention, say) as this restore picked it; nothing was changed. Restore another backup (\`pgkeeper backups ${lastArgument(backup.database)}\` lists them)`,
      FailureType.BackupNotFound,
    );
  }
  return { ...backup, pinKey };
}

export async function unpinBackup(config: Config, req: { store: string; pinKey: string }): Promise<void> {
  const { part } = classifyKey(req.pinKey) ?? {};
  if (part !== 'pin') throw ApplicationFailure.nonRetryable(`${quoteInput(req.pinKey)} is not a pin`, FailureType.InvalidInput);
  await namedStore(config, req.store).delete(req.pinKey);
}
