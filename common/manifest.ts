/**
 * The manifest: what makes a set of stored objects a backup. Written last; versioned. Version 2
 * lists every stored file with its size and SHA-256 (so a directory-format backup with many files
 * fits later) and the filter chain; version 1 manifests (pgkeeper before stores and filters) are
 * read and converted. Everything here is plain data: it also travels in workflow results.
 */
import { quoteInput } from './input-fields.js';
import { checkFilterChain, UnknownFilterError, type FilterStep } from './filters.js';

export interface ManifestFile {
  /** The object's name inside the database's folder (`app-…dump.zst`). */
  name: string;
  sizeBytes: number;
  sha256: string;
}

export interface ServerInfo {
  version: string;
  versionNum: number;
  /**
   * The cluster's system identifier (pg_control_system()), as text: tells two servers' backups of
   * one database name apart. Absent in backups made before pgkeeper recorded it, or when DB_USER
   * may not read it.
   */
  systemIdentifier?: string;
}

export interface TableEstimate {
  schema: string;
  name: string;
  /** From the catalog when the dump started; null when PostgreSQL has never analysed the table. */
  rowEstimate: number | null;
}

/** One grantee's privileges on the database (from aclexplode). `grantee` null means PUBLIC. */
export interface DatabaseGrant {
  grantee: string | null;
  privileges: string[];
  /** The subset granted WITH GRANT OPTION. */
  grantable: string[];
}

/** What `CREATE DATABASE`/`ALTER DATABASE` must restore, read in the dump's snapshot. */
export interface DatabaseProperties {
  owner: string;
  encoding: string;
  collate: string;
  ctype: string;
  /** "libc" or "icu" (PostgreSQL 15+); null on older servers (always libc). */
  localeProvider: string | null;
  icuLocale: string | null;
  connectionLimit: number;
  /** null: never granted or revoked, the defaults (PUBLIC may connect and create temporary tables). */
  grants: DatabaseGrant[] | null;
  /** `ALTER DATABASE ... SET`, as stored: "name=value". */
  settings: string[];
  /** `ALTER ROLE ... IN DATABASE ... SET`. */
  roleSettings: { role: string; settings: string[] }[];
  comment: string | null;
  /** Its default tablespace, when not pg_default (absent, too, in manifests written before it was recorded). */
  tablespace?: string;
  /**
   * With encryption on: settings, roleSettings and comment (left empty above), age-encrypted to the
   * backup's recipients, armored (activities/sealed-properties.ts): a setting may hold a secret.
   */
  sealed?: string;
}

/** The parts of DatabaseProperties that may hold a secret: sealed with encryption on, kept out of workflow history. */
export type SecretProperties = Pick<DatabaseProperties, 'settings' | 'roleSettings' | 'comment'>;

/**
 * DatabaseProperties as a resolved backup carries them through workflow history: the secret parts
 * absent (not empty) when they are read from the manifest where they are applied, so a worker too
 * old to read them there fails on their absence instead of applying "no settings".
 */
export type CarriedProperties = Omit<DatabaseProperties, keyof SecretProperties> & Partial<SecretProperties>;

export interface BackupManifest {
  /**
   * 3 when its databaseProperties are sealed: a pgkeeper that cannot open them refuses the manifest
   * (an unknown version) rather than restore the database without its settings.
   */
  manifestVersion: 2 | 3;
  kind: 'database';
  id: string;
  database: string;
  format: 'custom';
  /** As chosen: "zstd:1", "gzip:6", "none". */
  compression: string;
  /** Applied in order after pg_dump; a restore undoes them backwards. */
  filters: FilterStep[];
  /** Every stored file; the first is the archive. */
  files: ManifestFile[];
  /** The archive before encryption (what `age -d` gives back); null when not encrypted. */
  plaintext: { sizeBytes: number; sha256: string } | null;
  /** Bytes pg_dump wrote: the scratch space a restore needs. */
  dumpBytes: number;
  /** "full": every block was read back while it was written; "toc": only the table of contents. */
  verify: 'full' | 'toc';
  /** null when a manifest (made by hand, or damaged) does not say; readers need not check its fields. */
  server: ServerInfo | null;
  pgDumpVersion: string;
  startedAt: string;
  finishedAt: string;
  durationsMs: { dump: number; verify: number };
  toc: { entries: number; tableDataEntries: number };
  tables: TableEstimate[];
  /** null in backups made before pgkeeper recorded them. */
  databaseProperties: DatabaseProperties | null;
  workflow: { workflowId: string; runId: string };
}

export interface GlobalsManifest {
  manifestVersion: 2;
  kind: 'globals';
  id: string;
  filters: FilterStep[];
  files: ManifestFile[];
  plaintext: { sizeBytes: number; sha256: string } | null;
  pgDumpallVersion: string;
  startedAt: string;
  finishedAt: string;
  roles: number;
}

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  /** `newer`: the manifest is sound but written by a newer pgkeeper (a manifestVersion or filter this one does not know). */
  constructor(message: string, readonly newer = false) {
    super(message);
  }
}

function need<T>(ok: boolean, value: T, what: string): T {
  if (!ok) throw new ManifestError(what);
  return value;
}

function fileList(raw: Record<string, unknown>): ManifestFile[] {
  if (raw.manifestVersion === 1) {
    // Version 1: one archive, described by file/sizeBytes/sha256.
    return [{ name: String(raw.file), sizeBytes: Number(raw.sizeBytes), sha256: String(raw.sha256) }];
  }
  const files = need(Array.isArray(raw.files) && raw.files.length > 0, raw.files as ManifestFile[], 'it lists no files');
  for (const f of files) need(typeof f?.name === 'string' && f.name.length <= 255 && Number.isInteger(f.sizeBytes) && /^[0-9a-f]{64}$/.test(String(f.sha256)), f, 'a file entry lacks name, size or sha256');
  return files;
}

/** The manifest's server, its fields checked: only what is well-formed is kept. */
function serverInfo(raw: unknown): ServerInfo | null {
  const server = raw as Partial<ServerInfo> | null | undefined;
  if (typeof server?.version !== 'string' || !Number.isInteger(server.versionNum)) return null;
  const id = server.systemIdentifier;
  return { version: server.version, versionNum: server.versionNum!, ...(typeof id === 'string' && /^\d{1,20}$/.test(id) ? { systemIdentifier: id } : {}) };
}

/** Parses a manifest's text (version 1 or 2); throws ManifestError saying what is wrong with it. */
export function parseManifest(text: string, expectedId: string): BackupManifest | GlobalsManifest {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ManifestError(`not valid JSON (${(err as Error).message.split("\n")[0]!.replace(/, ".*/s, "")})`);
  }
  need(typeof raw === 'object' && raw !== null, raw, 'not a JSON object');
  // Values echoed shortened: one manifest's megabytes must not become every listing's reason.
  need(raw.id === expectedId, raw, `it names backup ${quoteInput(raw.id)}, not ${expectedId}`);
  const newest = raw.kind === 'globals' ? 2 : 3;
  if (Number.isInteger(raw.manifestVersion) && (raw.manifestVersion as number) > newest) {
    throw new ManifestError(`written by a newer pgkeeper (manifestVersion ${raw.manifestVersion as number}; this one reads up to ${newest}): upgrade pgkeeper on the worker to read it`, true);
  }
  need(Number.isInteger(raw.manifestVersion) && (raw.manifestVersion as number) >= 1, raw, `unknown manifestVersion ${quoteInput(raw.manifestVersion)}`);
  need(raw.finishedAt === undefined || (typeof raw.finishedAt === 'string' && !Number.isNaN(Date.parse(raw.finishedAt))), raw, 'finishedAt is not a time');
  need(typeof raw.startedAt === 'string' && !Number.isNaN(Date.parse(raw.startedAt)), raw, 'startedAt is missing or not a time');
  const files = fileList(raw);
  let filters: FilterStep[];
  try {
    filters = checkFilterChain(raw.filters);
  } catch (err) {
    throw new ManifestError((err as Error).message, err instanceof UnknownFilterError);
  }
  const plaintext = (raw.plaintext as BackupManifest['plaintext'] | undefined) ?? null;
  if (raw.kind === 'globals') {
    need(Number.isInteger(raw.roles), raw, `roles ${quoteInput(raw.roles)} is not a count`);
    return { ...(raw as unknown as GlobalsManifest), manifestVersion: 2, files, filters, plaintext };
  }
  need(typeof raw.database === 'string', raw, 'database is missing');
  const v1 = raw.manifestVersion === 1;
  need(v1 || (typeof raw.compression === 'string' && raw.compression.length <= 32), raw, `compression ${quoteInput(raw.compression)} is not a compression setting`);
  need(raw.verify === undefined || raw.verify === 'full' || raw.verify === 'toc', raw, `verify ${quoteInput(raw.verify)} is neither "full" nor "toc"`);
  return {
    ...(raw as unknown as BackupManifest),
    manifestVersion: v1 ? 2 : (raw.manifestVersion as 2 | 3),
    kind: 'database',
    compression: v1 ? `gzip:${Number(raw.compressLevel ?? 6)}` : String(raw.compression),
    files,
    filters,
    plaintext,
    server: serverInfo(raw.server),
    dumpBytes: Number(raw.dumpBytes ?? files[0]!.sizeBytes),
    tables: Array.isArray(raw.tables) ? (raw.tables as TableEstimate[]) : [],
    toc: (raw.toc as BackupManifest['toc'] | undefined) ?? { entries: 0, tableDataEntries: 0 },
    databaseProperties: (raw.databaseProperties as DatabaseProperties | undefined) ?? null,
  };
}
