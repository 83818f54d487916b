/**
 * What the worker proves before it takes work, so a mistake shows as one line at start rather than
 * as a failed backup at 3 a.m.: the stores answer with the configured credentials, the encryption
 * keys read, the scratch directory restores use can be written, and the tools the default chain
 * needs are installed (and the pg tools, when PG_BIN_DIR names where they are).
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType, InputError } from '../common/errors.js';
import type { Logger } from 'pino';
import { encryptionRecipients, identityRecipients, recipientsRefused } from '../activities/encryption.js';
import { PG_TOOLS } from '../activities/postgres/pg-tools.js';
import { scratchDirectory } from '../activities/restore-archive.js';
import { allStores } from '../activities/store/open-stores.js';
import type { BackupStore } from '../activities/store/store.js';
import { requireTools } from '../activities/stream/tool-check.js';
import { sharedDirectoryProblems } from './store-directories.js';
import type { Config } from '../common/config.js';
import { ConfigError } from '../common/config-error.js';
import { checkStoresApart, storeHoldingScratch, type StoreSpec } from '../common/store-url.js';

/** PG_BIN_DIR, when set, is the only place the pg tools are taken from: each must be there, a program it may run. */
async function pgBinDirProblems(dir: string): Promise<string[]> {
  const fix = 'set it to the directory of the PostgreSQL client tools (e.g. /usr/lib/postgresql/<major>/bin, the server\'s major version or newer), or unset it to take those matching the server';
  if (!(await fs.stat(dir).catch(() => undefined))?.isDirectory()) return [`PG_BIN_DIR is ${JSON.stringify(dir)}, which is not a directory: ${fix}`];
  const missing: string[] = [];
  const notRunnable: string[] = [];
  for (const tool of PG_TOOLS) {
    const file = path.join(dir, tool);
    if (!(await fs.stat(file).catch(() => undefined))?.isFile()) missing.push(tool);
    else if (await fs.access(file, fsConstants.X_OK).then(() => false, () => true)) notRunnable.push(tool);
  }
  return [
    ...(missing.length ? [`PG_BIN_DIR is ${JSON.stringify(dir)}, which holds no ${missing.join(', ')}: ${fix}`] : []),
    ...(notRunnable.length ? [`PG_BIN_DIR ${JSON.stringify(dir)}: ${notRunnable.join(', ')} cannot be run by this user (not executable)`] : []),
  ];
}

const realPath = async (dir: string) => fs.realpath(dir).catch(() => dir);

/** The stores, a file store's directory as it is on disk (symbolic links resolved). */
async function realStores(config: Config): Promise<StoreSpec[]> {
  return Promise.all([config.stores.primary, ...config.stores.copies].map(async (s) => (s.kind === 'file' ? { ...s, path: await realPath(s.path) } : s)));
}

/** A scratch directory inside a store: restores would write the archive there decrypted, among the backups. */
async function scratchInStore(config: Config, real: StoreSpec[]): Promise<string | undefined> {
  const scratch = config.scratchDir ?? os.tmpdir();
  const holding = storeHoldingScratch(await realPath(scratch), real);
  return holding && `the scratch directory ${scratch} lies inside store ${holding.url}: restores write the archive there decrypted and decompressed; point SCRATCH_DIR at a directory outside every store`;
}

/**
 * The stores' directories as they are on disk: a copy store that is a symbolic link to the primary
 * (or into it) passes the configuration's check by name, and would be no copy at all.
 */
async function linkedStoreProblems(config: Config, real: StoreSpec[]): Promise<string[]> {
  const stores = [config.stores.primary, ...config.stores.copies];
  try {
    checkStoresApart(real);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const links = real.flatMap((r, i) => {
      const given = stores[i]!;
      return r.kind === 'file' && given.kind === 'file' && r.path !== given.path ? [`${r.url} is ${r.path}`] : [];
    });
    return [`${err.message}; symbolic links resolved: ${links.join(', ')}`];
  }
}

/**
 * What may pass but deserves a word: an identity file others may read (the key to every backup),
 * a worker that restores but holds none of the keys it encrypts to (its own drills fail; fine when
 * restores run elsewhere), and a password file libpq ignores (readable by others).
 */
async function startupWarnings(config: Config, recipients: string[], identities: string[]): Promise<string[]> {
  const warnings: string[] = [];
  const identityFile = config.encryption.identityFile;
  const mode = identityFile ? (await fs.stat(identityFile).catch(() => undefined))?.mode : undefined;
  if (mode !== undefined && (mode & 0o077) !== 0) warnings.push(`AGE_IDENTITY_FILE ${identityFile} may be read by others (mode ${(mode & 0o777).toString(8)}): it decrypts every backup; chmod 600 it`);
  if (recipients.length > 0 && identities.length > 0 && !recipients.some((r) => identities.includes(r))) {
    warnings.push('none of ENCRYPT_RECIPIENTS is a key of AGE_IDENTITY_FILE: this worker cannot restore or drill the backups it makes (right if restores run on another worker; otherwise add the identity\'s public key, `age-keygen -y <file>`)');
  }
  const passfile = config.db.password === undefined ? (process.env.PGPASSFILE ?? path.join(os.homedir(), '.pgpass')) : undefined;
  const passMode = passfile ? (await fs.stat(passfile).catch(() => undefined))?.mode : undefined;
  if (passMode !== undefined && (passMode & 0o077) !== 0) warnings.push(`${passfile} may be read by others (mode ${(passMode & 0o777).toString(8)}), so libpq ignores it and no password is sent: chmod 600 it`);
  return warnings;
}

/** DB_HOST naming the socket file itself, where libpq wants its directory: every connection would fail, retried for minutes. */
async function databaseSocketProblem(config: Config): Promise<string | undefined> {
  if (!config.db.host.startsWith('/')) return undefined;
  const found = await fs.stat(config.db.host).catch(() => undefined);
  return found?.isSocket() ? `DB_HOST ${config.db.host} is the socket itself; give its directory (${path.dirname(config.db.host)})` : undefined;
}

/** How long the start waits for a store: an S3 server that takes requests and never answers would hold it for its every retry. */
const STORE_CHECK_MS = 15_000;

/** A store's check, given up on (as a store not answering) after STORE_CHECK_MS. */
async function checked(store: BackupStore): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(ApplicationFailure.retryable(`${store.url} did not answer within ${STORE_CHECK_MS / 1000} s`, FailureType.StoreUnavailable)), STORE_CHECK_MS);
  });
  const check = store.check();
  check.catch(() => undefined); // answered after the wait: said by the runs, not an unhandled rejection
  try {
    await Promise.race([check, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Returns the problems that must stop the worker; logs the ones that may pass (a store down for a moment). */
export async function startupProblems(config: Config, logger: Logger): Promise<string[]> {
  const problems: string[] = [];
  const note = (err: unknown) => {
    if (err instanceof ApplicationFailure && !err.nonRetryable) logger.warn(`${err.message} (the worker starts anyway; runs retry)`);
    else problems.push((err as Error).message);
  };
  // A store this worker may only read (a read-only mount, credentials that cannot write) serves a
  // worker that restores: the worst day's, on a disk mounted read-only so nothing can harm it.
  // Wrong credentials are no read-only store: it must answer a listing.
  const readOnlyOr = (store: BackupStore, other: (err: unknown) => void) => async (err: unknown) => {
    const readable = err instanceof ApplicationFailure && err.type === FailureType.StoreAccessDenied && (await store.listFolders('').then(() => true, () => false));
    if (readable) logger.warn(`${(err as Error).message} (the worker starts anyway: restores and drills read the store; backups and copies to it fail)`);
    else other(err);
  };
  let opened: BackupStore[];
  try {
    opened = allStores(config);
  } catch (err) {
    if (err instanceof InputError) return [err.message]; // AWS_ENDPOINT_URL that is no URL, say
    throw err;
  }
  const [primary, ...copies] = opened;
  // A local primary not there stops the worker: every backup would fail on it. A store across the
  // network may be down for a moment, and a copy store not there leaves backups to the primary.
  await checked(primary!).catch(readOnlyOr(primary!, (err: unknown) => (primary!.kind === 'file' ? problems.push((err as Error).message) : note(err))));
  for (const store of copies) await checked(store).catch(readOnlyOr(store, note));
  // The stores' directories as they are on disk, read once for both checks that need them.
  const real = await realStores(config);
  const linked = await linkedStoreProblems(config, real);
  problems.push(...(linked.length > 0 ? linked : await sharedDirectoryProblems(real)));
  const recipients = await encryptionRecipients(config).catch((err: unknown) => (note(err), []));
  const identities = await identityRecipients(config.encryption.identityFile).catch((err: unknown) => (note(err), []));
  for (const warning of await startupWarnings(config, recipients, identities)) logger.warn(warning);
  const socket = await databaseSocketProblem(config);
  if (socket) problems.push(socket);
  // Checked before the scratch directory is made, which would make it inside the store.
  const scratchProblem = await scratchInStore(config, real);
  if (scratchProblem) problems.push(scratchProblem);
  else await scratchDirectory(config).catch(note);
  await requireTools([...(recipients.length ? ['age'] : []), 'zstd']).catch(note);
  const refused = await recipientsRefused(recipients);
  if (refused) problems.push(refused);
  if (config.pgBinDir) problems.push(...(await pgBinDirProblems(config.pgBinDir)));
  return problems;
}
