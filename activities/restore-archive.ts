/**
 * restoreIntoStaging: everything between "this backup" and "a restored staging database", in one
 * activity, because pg_restore -j needs a local seekable file and no step may rely on a file an
 * earlier activity left on one host's disk:
 *   1. check free space in SCRATCH_DIR, then stream the archive from its store through the inverse
 *      filters into a scratch file, hashing; a mismatch fails before pg_restore starts;
 *   2. read the archive's header: it must hold the database it is said to hold;
 *   3. name every role the archive and the database's properties need that the server lacks,
 *      before anything is created;
 *   4. create the staging database with the source's encoding and locale, `pg_restore -j N` into
 *      it (heartbeating items done), then give it the source's owner, privileges, settings and comment.
 * The scratch file, and a staging database this attempt made but did not finish, are removed
 * whatever happens, cancellation and a worker stopping included; what a killed worker left is
 * swept by a later restore. The target is never touched here.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import type { Config } from '../common/config.js';
import { shellWord } from '../common/shell-word.js';
import { rolesNeeded } from '../common/database-properties-sql.js';
import type { DatabaseProperties } from '../common/manifest.js';
import { propertiesToApply } from './sealed-properties.js';
import { FailureType } from '../common/errors.js';
import { rolesReferenced, scriptEncoding, tablespacesReferenced } from '../common/schema-roles.js';
import type { ResolvedBackup, StagingRestore } from '../common/types.js';
import { failure, killedBy, refusal, toolFailure } from './failures.js';
import { makeDirectories } from './make-directories.js';
import { heartbeatEvery } from './heartbeat.js';
import { applyDatabaseProperties, dropOwnStaging, dropStaging, existingRoles, existingTablespaces, recreateStaging, sweepStaleStaging, withAdmin } from './postgres/database-admin.js';
import { conninfoForDatabase, pgToolPath, pgToolProcess, runPgTool } from './postgres/pg-tools.js';
import { listEveryStore, pinRecord, unpinnedWarning } from './store/backup-catalog.js';
import { expectedArchive } from './store/damage-record.js';
import { damaged, readFirstIntact } from './store/read-first-intact.js';
import { sidecarWarning } from './store/sidecar-check.js';
import { allStores, namedStore } from './store/open-stores.js';
import type { BackupStore } from './store/store.js';
import { fetchArchive } from './stream/fetch-archive.js';
import { LEFT_BEHIND_MS, sweepStale } from './sweep-stale.js';

export interface RestoreArchiveRequest {
  backup: ResolvedBackup;
  staging: string;
  jobs: number;
  noOwner: boolean;
  noPrivileges: boolean;
  /** Absent in a run started before the option existed. */
  noTablespaces?: boolean;
  /** The globals backup this restore applied first, and what psql said: a refusal for roles or tablespaces it did not make repeats it. */
  globalsApplied?: { id: string; warnings: string[] };
}

const SCRATCH_PREFIX = 'pgkeeper-scratch-';
/** Room to leave free beyond the archive itself. */
const SCRATCH_MARGIN_BYTES = 64 * 1024 * 1024;

/** A connection problem may pass (server restarting): worth a retry from scratch. */
const TRANSIENT = /could not connect|connection to server .* failed|server closed the connection|terminating connection|the database system is (starting up|shutting down)/i;

const scratchFile = (dir: string, staging: string) => path.join(dir, `${SCRATCH_PREFIX}${staging}.dump`);

/**
 * With its staging database, when a run is cleaned up (failed, cancelled): the scratch file of a
 * worker killed mid-restore, which nothing else would remove for days. Its pg_restore, orphaned,
 * keeps reading what it opened.
 */
export async function dropStagingAndScratch(config: Config, staging: string): Promise<void> {
  await fs.rm(scratchFile(config.scratchDir ?? os.tmpdir(), staging), { force: true });
  await dropStaging(config, staging);
}

const SCRATCH_PATH_ERRORS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'ENOENT', 'ELOOP', 'ENAMETOOLONG']);

/**
 * The scratch directory, created if need be (0700: it holds whole databases in the clear) and
 * writable; the worker checks it at start, so a typo or a read-only mount is one line then.
 */
export async function scratchDirectory(config: Config): Promise<string> {
  const dir = config.scratchDir ?? os.tmpdir();
  try {
    await makeDirectories(dir, 0o700);
    await fs.access(dir, fs.constants.W_OK);
    return dir;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      `cannot use ${dir} as the scratch directory (${code ?? (err as Error).message}): restores decompress the archive there; ` +
      'point SCRATCH_DIR at a directory the worker can write, on a disk with room for the largest database';
    // A path that cannot be a writable directory stays so; an I/O error (a network mount) may pass.
    if (code && SCRATCH_PATH_ERRORS.has(code)) throw ApplicationFailure.nonRetryable(message, FailureType.ScratchUnusable);
    throw ApplicationFailure.retryable(message, FailureType.ScratchUnusable);
  }
}

async function checkFreeSpace(config: Config, dir: string, backup: ResolvedBackup): Promise<void> {
  // A loose compressed archive's size after decompression is unknown until it is written.
  const needed = backup.dumpBytes ?? (backup.filters.length === 0 ? backup.sizeBytes : 0);
  const { bavail, bsize } = await fs.statfs(dir);
  const free = bavail * bsize;
  if (free < needed + SCRATCH_MARGIN_BYTES) {
    throw failure(
      config,
      FailureType.DiskFull,
      `restoring ${backup.label} needs ${Math.ceil((needed + SCRATCH_MARGIN_BYTES) / 1048576)} MiB of scratch space in ${dir}, which has ${Math.floor(free / 1048576)} MiB free; free space there or set SCRATCH_DIR to a larger disk`,
    );
  }
}

/** The database a custom-format archive was dumped from, from its header. */
async function archiveDatabase(config: Config, file: string, label: string): Promise<string> {
  const list = await runPgTool(config, 'pg_restore', ['--list', file], { purpose: `read the table of contents of ${label}` }).catch((err: unknown) => {
    if (err instanceof ApplicationFailure && err.type === FailureType.PgToolFailed) {
      throw failure(config, FailureType.CorruptArchive, `${label} is not a readable pg_dump archive: ${err.message}`);
    }
    throw err;
  });
  // To the newline only: a name may hold U+2028 or U+2029, where `.` and a multiline `$` stop.
  return /^;[ \t]+dbname: ([^\n]*)\n/m.exec(list)?.[1] ?? '';
}

/** What applying the globals first said, for a refusal of what they did not make (its warnings are in no result then). */
const globalsSaid = (req: RestoreArchiveRequest) => (req.globalsApplied?.warnings.length ? `. Applying globals backup ${req.globalsApplied.id} first said: ${req.globalsApplied.warnings.join('; ')}` : '');

/** pg_restore's options that change what the script needs of the server. */
const scriptOptions = (req: RestoreArchiveRequest) => [...(req.noOwner ? ['--no-owner'] : []), ...(req.noPrivileges ? ['--no-privileges'] : []), ...(req.noTablespaces ? ['--no-tablespaces'] : [])];

/**
 * Refuses, before anything is restored, an archive needing roles or tablespaces this server lacks
 * (pg_restore would stop at the first); returns the encoding its data is in.
 */
async function checkServerHas(config: Config, file: string, req: RestoreArchiveRequest, properties: DatabaseProperties | null): Promise<string | undefined> {
  // The schema script pg_restore would run, with the same options: exactly the roles and tablespaces it needs.
  const script = await runPgTool(config, 'pg_restore', ['--schema-only', '--file=-', ...scriptOptions(req), file], { purpose: `read the schema of ${req.backup.label}` });
  const options = { noOwner: req.noOwner, noPrivileges: req.noPrivileges };
  const roles = [...new Set([...rolesReferenced(script), ...(properties ? rolesNeeded(properties, options) : [])])].sort();
  const tablespaces = [...new Set([...tablespacesReferenced(script), ...(properties?.tablespace !== undefined && !req.noTablespaces ? [properties.tablespace] : [])])].sort();
  const [present, spaces] = await withAdmin(config, async (client) => [await existingRoles(client, roles), await existingTablespaces(client, tablespaces)] as const);
  // As JSON strings: a name may hold a quote or a line break.
  const quoted = (names: string[]) => names.map((n) => JSON.stringify(n)).join(', ');
  const missing = roles.filter((r) => !present.has(r));
  const rolesMissing = `roles missing on ${config.db.host}:${config.db.port}: ${quoted(missing)}`;
  const rolesMessage = `${rolesMissing}. Create them (or restore a globals backup first), or restore with --no-owner ("noOwner": objects owned by DB_USER) and --no-privileges ("noPrivileges": no GRANTs), which leaves out all but the roles a policy or a user mapping names`;
  const missingSpaces = tablespaces.filter((t) => !spaces.present.has(t));
  const closedSpaces = tablespaces.filter((t) => spaces.present.has(t) && !spaces.creatable.has(t));
  if (missingSpaces.length > 0 || closedSpaces.length > 0) {
    // Both at once, roles too: each refusal fetches the archive again.
    const problems = [
      ...(missingSpaces.length ? [`tablespaces missing on ${config.db.host}:${config.db.port}, which ${req.backup.label} puts its database, tables or indexes in: ${quoted(missingSpaces)}. Create them (CREATE TABLESPACE … LOCATION, or restore a globals backup first, which makes them where their directories exist)`] : []),
      ...(closedSpaces.length ? [`DB_USER "${config.db.user}" may not create in the tablespaces ${req.backup.label} uses: ${quoted(closedSpaces)}. GRANT CREATE ON TABLESPACE … TO "${config.db.user}"`] : []),
    ];
    throw failure(config, FailureType.TablespacesMissing, `${problems.join('; ')}; or restore with --no-tablespaces ("noTablespaces": every table in the default tablespace)${missing.length ? `. Also ${rolesMessage}` : ''}${globalsSaid(req)}`);
  }
  if (missing.length > 0) throw refusal(config, FailureType.RolesMissing, `${rolesMessage}${globalsSaid(req)}`, `${rolesMissing}${globalsSaid(req)}`);
  return scriptEncoding(script);
}

/**
 * Whether a line of `pg_restore --verbose` is one archive item done (progress: items of the
 * table of contents): what the item does ("creating INDEX …", "executing BLOB …", "processing
 * data for table …", "processing BLOBS"), one line each with or without -j. Not -j's own
 * bookkeeping ("processing item N", "launching item N", "finished item N"), which would count
 * items twice, nor its header entries (encoding, search_path), which `--list` does not show.
 * With -j the jobs share stderr and write "pg_restore:", " " and the message separately, so two
 * of them can interleave ("pg_restore:pg_restore:  creating INDEX …", then a bare "finished item
 * …" line): a message counts after any run of prefixes, or none.
 */
export function isItemLine(line: string): boolean {
  return /^\s*(?:pg_restore:\s*)*(creating |executing |processing (?!item |missed item ))/.test(line);
}

async function pgRestoreInto(config: Config, file: string, req: RestoreArchiveRequest, onItem: () => void): Promise<void> {
  const stderrTail: string[] = [];
  const child = execa(
    await pgToolPath(config, 'pg_restore'),
    [
      '--exit-on-error',
      '--no-password', // never wait on a password prompt: fail and say so
      '--verbose', // one stderr line per item: our progress
      `--jobs=${req.jobs}`,
      `--dbname=${conninfoForDatabase(req.staging)}`,
      ...scriptOptions(req),
      file,
    ],
    { ...pgToolProcess(config, Context.current().cancellationSignal), stdin: 'ignore', stdout: 'ignore', buffer: false },
  );
  child.stderr.setEncoding('utf8');
  let partialLine = '';
  child.stderr.on('data', (text: string) => {
    const lines = (partialLine + text).split('\n');
    partialLine = lines.pop() ?? '';
    for (const line of lines) {
      if (isItemLine(line)) onItem();
      if (!/^pg_restore: (creating|processing|executing|connecting|launching|finished)/.test(line)) {
        stderrTail.push(line);
        if (stderrTail.length > 20) stderrTail.shift();
      }
    }
  });
  const result = await child;
  const cancel = Context.current().cancellationSignal;
  if (cancel.aborted) throw cancel.reason;
  if (result.signal) throw ApplicationFailure.retryable(killedBy('pg_restore', result.signal), FailureType.PgToolKilled);
  if (result.failed) {
    const stderr = stderrTail.join('\n');
    const classified = toolFailure(config, 'pg_restore', `restore into "${req.staging}"`, stderr, result.exitCode, result.code);
    if (classified.type !== FailureType.PgToolFailed || TRANSIENT.test(stderr)) throw classified;
    const errors = stderrTail.filter((l) => /error|fatal/i.test(l)).slice(-3).join(' | ') || stderrTail.slice(-3).join(' | ');
    throw failure(config, FailureType.RestoreFailed, `pg_restore could not restore ${req.backup.label} into the staging database (exit code ${result.exitCode}): ${errors}. The target was not touched`);
  }
}

/** Pins `pinKey` in each copy store; one that cannot be written (down, read-only to this worker) is said, not fatal. */
async function pinCopies(config: Config, copies: string[], pinKey: string): Promise<{ pinned: string[]; warnings: string[] }> {
  const pinned: string[] = [];
  const warnings: string[] = [];
  for (const url of copies) {
    try {
      await namedStore(config, url).put(pinKey, pinRecord(Context.current().info.workflowExecution));
      pinned.push(url);
    } catch (err) {
      warnings.push(unpinnedWarning(url, err));
    }
  }
  return { pinned, warnings };
}

/**
 * A restore that named its store (--store) and found the archive damaged there: if another store
 * holds the backup intact, the refusal says so, and how to read it from there.
 */
async function withIntactElsewhere(config: Config, backup: ResolvedBackup, err: unknown): Promise<unknown> {
  if (!damaged(err) || backup.copies !== undefined || backup.kind !== 'manifest') return err;
  const others = allStores(config).filter((s) => s.url !== backup.store);
  const { found } = await listEveryStore(others, backup.database, 'report').catch(() => ({ found: [] }));
  const there = found.find(({ entry }) => entry.id === backup.label && entry.status === 'complete');
  if (!there) return err;
  return ApplicationFailure.nonRetryable(`${err.message}; it is intact in ${there.store.url}: restore it from there (--store ${shellWord(there.store.url)})`, err.type);
}

/**
 * Fetches the archive into `scratch` from the first store that holds it intact (read-first-intact.ts).
 * The backup is pinned where it was resolved; its copies are pinned while this reads, so the copy
 * to fall back on is still there when the primary turns out damaged (a prune of a copy store may
 * run meanwhile). `onBytes(-1)` starts the progress count again.
 */
async function fetchFirstIntact(config: Config, backup: ResolvedBackup, scratch: string, cancel: AbortSignal, onBytes: (n: number) => void): Promise<{ store: BackupStore; warnings: string[] }> {
  const pins = backup.pinKey ? await pinCopies(config, backup.copies ?? [], backup.pinKey) : { pinned: [], warnings: [] };
  try {
    const target = { label: backup.label, filters: backup.filters, archive: expectedArchive(backup), stores: [backup.store, ...(backup.copies ?? [])].map((url) => namedStore(config, url)) };
    const expected = { sizeBytes: backup.sizeBytes, sha256: backup.sha256, plaintext: backup.plaintext };
    const read = async (store: BackupStore) => {
      onBytes(-1);
      await fetchArchive({ store, key: backup.archiveKey, label: backup.label, filters: backup.filters, identityFile: config.encryption.identityFile, expected }, { file: scratch }, cancel, onBytes);
    };
    const found = await readFirstIntact(target, read, cancel).catch(async (err: unknown) => {
      throw await withIntactElsewhere(config, backup, err);
    });
    return { store: found.store, warnings: [...found.warnings, ...pins.warnings] };
  } finally {
    // A stale pin expires on its own.
    await Promise.all(pins.pinned.map((url) => namedStore(config, url).delete(backup.pinKey!).catch(() => undefined)));
  }
}

export async function restoreIntoStaging(config: Config, req: RestoreArchiveRequest): Promise<StagingRestore> {
  const ctx = Context.current();
  const backup = req.backup;
  const dir = await scratchDirectory(config);
  const scratch = scratchFile(dir, req.staging);
  let phase = 'fetching archive';
  let bytes = 0;
  let items = 0;
  const stopHeartbeat = heartbeatEvery(1_000, () =>
    phase === 'fetching archive' ? { phase, bytes, totalBytes: backup.sizeBytes } : { phase, items, totalItems: backup.tocEntries ?? undefined },
  );
  // pg_restore -j reopens the file in each job: keep it fresh so no other run's sweep takes it for a leftover.
  const touch = setInterval(() => void fs.utimes(scratch, new Date(), new Date()).catch(() => undefined), 60_000);
  let made: number | undefined; // the oid of the staging database this attempt made, until it is restored
  try {
    await sweepStale(dir, SCRATCH_PREFIX, LEFT_BEHIND_MS);
    await checkFreeSpace(config, dir, backup);
    // The whole database, in the clear: readable by the worker's user only.
    await (await fs.open(scratch, 'w', 0o600)).close();
    const fetchStarted = Date.now();
    const { store, warnings } = await fetchFirstIntact(config, backup, scratch, ctx.cancellationSignal, (n) => (bytes = n < 0 ? 0 : bytes + n));
    const fetchMs = Date.now() - fetchStarted;
    // None for a sidecar that is missing: the restore is no audit (verify says it).
    const sidecar = backup.kind === 'manifest' && backup.sha256 !== null ? await sidecarWarning(store, backup.archiveKey, backup.sha256) : undefined;
    if (sidecar) warnings.push(sidecar);

    phase = 'checking archive';
    // Opened once the archive was decrypted with the same identity (a failure here is the manifest's).
    const properties = await propertiesToApply(backup, [store, ...(backup.copies ?? []).filter((url) => url !== store.url).map((url) => namedStore(config, url))], config.encryption.identityFile);
    const holds = await archiveDatabase(config, scratch, backup.label);
    if (holds !== backup.database) {
      throw failure(
        config,
        FailureType.WrongDatabase,
        `${backup.label} holds database "${holds}", not "${backup.database}" as ${backup.kind === 'manifest' ? 'its manifest says' : 'its name or the input says'}; nothing was restored. Check that this is the archive you mean`,
      );
    }
    if (backup.kind === 'loose' && backup.sha256 === null) {
      // Nothing to compare a checksum with: read every block instead, before anything is created.
      await runPgTool(config, 'pg_restore', ['--file=/dev/null', scratch], { cancelSignal: ctx.cancellationSignal, purpose: `read ${backup.label}` }).catch((err: unknown) => {
        if (err instanceof ApplicationFailure && err.type === FailureType.PgToolFailed) throw failure(config, FailureType.CorruptArchive, `${backup.label} is unreadable: ${err.message}`);
        throw err;
      });
    }
    const archiveEncoding = await checkServerHas(config, scratch, req, properties);

    phase = 'restoring into staging';
    const restoreStarted = Date.now();
    for (const left of await sweepStaleStaging(config, LEFT_BEHIND_MS)) {
      warnings.push(`dropped "${left}", a staging database over two days old: a run terminated from outside left it (a terminate skips every clean-up)`);
    }
    const madeBy = ctx.info.workflowExecution?.workflowId ?? ctx.info.activityId;
    const { oid: stagingOid, warnings: created } = await recreateStaging(config, req.staging, properties, { noTablespaces: req.noTablespaces === true, madeBy, archiveEncoding });
    made = stagingOid;
    warnings.push(...created);
    await pgRestoreInto(config, scratch, req, () => (items += 1));
    if (properties) warnings.push(...(await applyDatabaseProperties(config, req.staging, properties, { noOwner: req.noOwner, noPrivileges: req.noPrivileges })));
    made = undefined; // restored: the run's to swap in (or drop)
    return { stagingOid, store: store.url, fetchMs, restoreMs: Date.now() - restoreStarted, warnings };
  } finally {
    clearInterval(touch);
    stopHeartbeat();
    await fs.rm(scratch, { force: true }); // first: the database in the clear, while a stopping worker's time runs out
    // A half-restored staging database goes at once, whatever stopped it (a failure, a cancel, the
    // worker stopping): it may hold hundreds of GB on the server while no worker runs the retry.
    if (made !== undefined) await dropOwnStaging(config, req.staging, made).catch(() => undefined);
  }
}
