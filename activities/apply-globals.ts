/**
 * applyGlobals: before a restore, create the roles and tablespaces the server lacks, from a globals
 * backup ("latest" or an id) in any store. The script is fetched, decrypted and checked in memory,
 * filtered so that existing roles are never altered, and fed to psql on its stdin: no file of role
 * password hashes is ever written to the worker's disk.
 */
import { Writable } from 'node:stream';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { backupKeys, GLOBALS_FOLDER } from '../common/backup-keys.js';
import type { Config } from '../common/config.js';
import { FailureType, InputError } from '../common/errors.js';
import { scriptForMissing } from '../common/globals-script.js';
import type { GlobalsManifest } from '../common/manifest.js';
import { failure, needsNewerPgkeeper, toolFailure } from './failures.js';
import { MAINTENANCE_DATABASE, withAdmin } from './postgres/database-admin.js';
import { pgToolPath, pgToolProcess } from './postgres/pg-tools.js';
import { listEveryStore, primaryUnread } from './store/backup-catalog.js';
import { allStores } from './store/open-stores.js';
import type { BackupStore } from './store/store.js';
import { manifestArchive } from './store/damage-record.js';
import { readFirstIntact } from './store/read-first-intact.js';
import { fetchArchive } from './stream/fetch-archive.js';

export interface ApplyGlobalsResult {
  id: string;
  /** The roles created. */
  created: string[];
  /** The tablespaces created. */
  tablespaces: string[];
  warnings: string[];
}

/** The globals backup wanted, with every store that holds it complete (in the order restores read them). */
async function findGlobals(config: Config, wanted: string): Promise<{ stores: BackupStore[]; manifest: GlobalsManifest; warnings: string[] }> {
  let newest: { store: BackupStore; manifest: GlobalsManifest; createdAtMs: number } | undefined;
  const damaged: { id: string; createdAtMs: number; reason: string; store: string; newer: boolean }[] = [];
  const holding = new Map<string, BackupStore[]>();
  // A store that cannot be read is passed over, as a restore's own backup does (said in the warnings).
  const stores = allStores(config);
  const { found, unreachable } = await listEveryStore(stores, GLOBALS_FOLDER);
  for (const { store, entry } of found) {
    if (wanted !== 'latest' && entry.id !== wanted) continue;
    if (entry.status === 'damaged' || entry.status === 'newer') damaged.push({ id: entry.id, createdAtMs: entry.createdAtMs, reason: entry.reason ?? 'damaged', store: store.url, newer: entry.status === 'newer' });
    if (entry.status !== 'complete') continue;
    holding.set(entry.id, [...(holding.get(entry.id) ?? []), store]);
    if (!newest || entry.createdAtMs > newest.createdAtMs) newest = { store, manifest: entry.manifest as GlobalsManifest, createdAtMs: entry.createdAtMs };
  }
  const unread = unreachable.map((u) => `store ${u.store} could not be read, so its globals backups were not considered: ${u.reason}`);
  // As for a database's "latest" (resolve-backup.ts): the copies may lack the newest, and roles made since would be missing.
  const primaryGone = wanted === 'latest' ? primaryUnread(stores, unreachable) : undefined;
  if (primaryGone) {
    throw ApplicationFailure.nonRetryable(
      `the primary store ${primaryGone.store} could not be read (${primaryGone.reason}), so which globals backup is the latest is not known; ` +
        (newest ? `the newest the other stores hold is ${newest.manifest.id}: give it (--globals ${newest.manifest.id}) if it will do, or try again once the store can be read` : 'no other store holds a complete globals backup: try again once the store can be read'),
      FailureType.StoreUnavailable,
    );
  }
  const describe = (list: typeof damaged) => list.map((d) => `${d.id}: ${d.reason} in ${d.store}`).join('; ');
  // One a newer pgkeeper wrote is not damaged: the roles it holds come with an upgrade, before an older backup.
  const [newerFormat] = damaged.filter((d) => d.newer && (!newest || d.createdAtMs > newest.createdAtMs) && !holding.has(d.id)).sort((a, b) => b.createdAtMs - a.createdAtMs);
  if (newerFormat) {
    throw needsNewerPgkeeper(
      `${wanted === 'latest' ? 'the newest globals backup, ' : 'globals backup '}${newerFormat.id},`,
      newerFormat.reason,
      newest && `give the older ${newest.manifest.id} (--globals ${newest.manifest.id}), which may lack roles made since`,
    );
  }
  if (!newest) {
    throw ApplicationFailure.nonRetryable(
      (damaged.length
        ? `${wanted === 'latest' ? 'every globals backup is' : `globals backup "${wanted}" is`} DAMAGED (${describe(damaged)}); \`pgkeeper backups\` lists the globals backups, \`pgkeeper backup --all\` makes a new one`
        : `no globals backup "${wanted}" in ${stores.filter((s) => !unreachable.some((u) => u.store === s.url)).map((s) => s.url).join(', ')}; run \`pgkeeper backup --all\` to make one`) + unread.map((u) => `; ${u}`).join(''),
      FailureType.BackupNotFound,
    );
  }
  // "latest" passing over a damaged newer one says so: those roles may be missing from the older one.
  const newer = damaged.filter((d, i) => d.createdAtMs > newest.createdAtMs && d.id !== newest.manifest.id && damaged.findIndex((o) => o.id === d.id) === i);
  const warnings = [...unread.map((u) => `globals: ${u}`), ...(newer.length ? [`globals: the newer ${describe(newer)} is DAMAGED; applied the older ${newest.manifest.id}`] : [])];
  return { stores: holding.get(newest.manifest.id)!, manifest: newest.manifest, warnings };
}

export async function applyGlobals(config: Config, req: { globals: string }): Promise<ApplyGlobalsResult> {
  const { stores, manifest, warnings: passedOver } = await findGlobals(config, req.globals);
  const keys = backupKeys(GLOBALS_FOLDER, manifest.id, manifest.filters);
  const file = manifest.files[0]!;
  const label = `globals backup ${manifest.id}`;
  const cancel = Context.current().cancellationSignal;
  let chunks: Buffer[] = [];
  const read = async (store: BackupStore) => {
    chunks = [];
    const collect = new Writable({
      write(chunk: Buffer, _encoding, next) {
        chunks.push(chunk);
        next();
      },
    });
    const expected = { sizeBytes: file.sizeBytes, sha256: file.sha256, plaintext: manifest.plaintext };
    await fetchArchive({ store, key: keys.archive, label, filters: manifest.filters, identityFile: config.encryption.identityFile, expected }, collect, cancel, () => undefined);
  };
  // As a restore reads its archive: a damaged or unreadable globals backup is read from its copy.
  const archive = manifestArchive(GLOBALS_FOLDER, manifest.id, file);
  const { warnings: fellBack } = await readFirstIntact({ label, filters: manifest.filters, archive, stores }, read, cancel);
  const existingNow = () =>
    withAdmin(config, async (client) => {
      const names = async (sql: string) => new Set((await client.query<{ name: string }>(sql)).rows.map((r) => r.name));
      return { roles: await names('select rolname as name from pg_roles'), tablespaces: await names('select spcname as name from pg_tablespace') };
    });
  const existing = await existingNow();
  let filtered: ReturnType<typeof scriptForMissing>;
  try {
    filtered = scriptForMissing(Buffer.concat(chunks).toString('utf8'), existing);
  } catch (err) {
    // A script that is not pg_dumpall's alone: final, and named (the run restores a database too).
    if (err instanceof InputError) throw failure(config, FailureType.InvalidInput, `${label}: ${err.message}`);
    throw err;
  }
  const { script } = filtered;
  // Without ON_ERROR_STOP: a tablespace whose directory this server lacks, or a membership that exists, is reported, not fatal.
  const result = await execa(await pgToolPath(config, 'psql'), ['-X', '-q', '--no-password', '-d', MAINTENANCE_DATABASE, '-f', '-'], { ...pgToolProcess(config), input: script });
  if (result.failed) throw toolFailure(config, 'psql', `apply globals ${manifest.id}`, String(result.stderr ?? ''), result.exitCode, result.code);
  // What exists now: a tablespace whose directory this server lacks was not made, whatever the script said.
  const after = await existingNow();
  const created = filtered.created.filter((role) => after.roles.has(role));
  const tablespaces = filtered.tablespaces.filter((space) => after.tablespaces.has(space));
  const psqlErrors = String(result.stderr ?? '')
    .split('\n')
    .filter((line) => /ERROR:/.test(line))
    .map((line) => `globals: ${line.replace(/^psql:[^:]*:\d+: /, '')}`);
  return { id: manifest.id, created, tablespaces, warnings: [...passedOver, ...fellBack.map((w) => `globals: ${w}`), ...psqlErrors] };
}
