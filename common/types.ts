/**
 * What workflows and activities hand each other, and what workflows return. Everything here ends
 * up in workflow history and the Temporal UI: store URLs, keys, ids, sizes, checksums and
 * durations only; never data, never a host's path, never a secret.
 */
import type { Compression, FilterStep } from './filters.js';
import type { CarriedProperties, ManifestFile, ServerInfo } from './manifest.js';
import type { RetentionDecision, RetentionPolicy } from './retention-plan.js';

export type { ServerInfo };

export interface DumpRequest {
  database: string;
  backupId: string;
  compression: Compression;
  /** Read the archive back with pg_restore while it is written. */
  verify: 'full' | 'toc';
  workflow: { workflowId: string; runId: string };
}

export interface DumpResult {
  /** The archive as stored in the primary store, in the database's folder. */
  archive: ManifestFile;
  filters: FilterStep[];
  plaintext: { sizeBytes: number; sha256: string } | null;
  dumpBytes: number;
  toc: { entries: number; tableDataEntries: number };
  tableCount: number;
  durationMs: number;
  /** What pg_dump warned of while it succeeded (objects left out for want of privileges, say); absent: none. */
  warnings?: string[];
}

export interface PublishRequest {
  database: string;
  backupId: string;
  dump: DumpResult;
}

/** Where a backup is, after a run: the primary store, and each copy store. */
export interface StoreOutcome {
  store: string;
  role: 'primary' | 'copy';
  status: 'stored' | 'copied' | 'failed';
  reason?: string;
  /** Copies: older backups not copied because their primary archive was found damaged (and recorded so). */
  skipped?: { id: string; reason: string }[];
}

/** An object the retention sweep removes, and why. */
export interface Leftover {
  key: string;
  reason: string;
}

/**
 * Retention on one store. Its lists are bounded (Temporal refuses a result over 2 MB, and a store
 * keeping a backup a minute for a week holds 10,000): each says how many it leaves out.
 */
export interface StoreRetention {
  store: string;
  kept: number;
  deleted: string[];
  deletedNotListed?: number;
  /** Unfinished writes and leftovers of crashed runs removed by the sweep. */
  swept: string[];
  /** The same with the reason for each; in a dry run, what the sweep would remove (unfinished writes aside). */
  leftovers?: Leftover[];
  /** How many more `swept` and `leftovers` leave out. */
  sweptNotListed?: number;
  /** The decisions, newest first: every deletion, then the newest of those kept, up to the bound. */
  plan: RetentionDecision[];
  /** Decisions `plan` leaves out (all of them backups kept, unless deletions alone pass the bound). */
  planNotListed?: { keep: number; delete: number };
  /** Damaged backups retention leaves for a person (never counted; see apply-retention.ts), with why (`newer`: a newer pgkeeper's, to keep). */
  damaged: { id: string; createdAt: string; reason: string; newer?: true }[];
  damagedNotListed?: number;
  /** The newest complete backup is of another PostgreSQL server (system identifier) than the one before it. */
  serverChanged?: ServerChange;
}

export interface ServerChange {
  id: string;
  systemIdentifier: string;
  previousId: string;
  previousSystemIdentifier: string;
}

export interface RetentionRequest {
  /** A database's backups, or (with `globals`) the globals backups. */
  database?: string;
  globals?: boolean;
  policy?: RetentionPolicy;
  /** The backup the calling run just made: kept whatever the policy (and whatever else claims to be newer). */
  made?: string;
  dryRun?: boolean;
  /**
   * 'report': a store that does not answer is named in the result and retention goes on with the
   * others (prune: a person waits for it). Default 'retry': the activity fails and is retried.
   */
  unreachable?: 'report' | 'retry';
}

export interface RetentionResult {
  policy: RetentionPolicy;
  stores: StoreRetention[];
  /** Stores that did not answer (only with `unreachable: 'report'`): retention did not run there. */
  unreachable?: StoreUnreachable[];
  /** No store holds a backup of the database: the databases they do hold (for "did you mean"). */
  others?: string[];
}

export type BackupPhase = 'starting' | 'waiting for database' | 'dumping' | 'publishing' | 'copying' | 'applying retention' | 'done';

export interface BackupProgress {
  phase: BackupPhase;
  backupId: string;
  phaseStartedAt: string;
}

/** Another operation on the same database holds its workflow id: this run did nothing. */
export interface BackupSkipped {
  status: 'skipped';
  database: string;
  reason: string;
}

export interface BackupResult {
  status: 'completed';
  backupId: string;
  database: string;
  /** The archive's key in every store: `<database>/<name>`. */
  archiveKey: string;
  stores: StoreOutcome[];
  sizeBytes: number;
  sha256: string;
  compression: string;
  encrypted: boolean;
  verify: 'full' | 'toc';
  tables: number;
  durationsMs: { wait: number; dump: number; publish: number; copy: number; retention: number; total: number };
  /** `swept`: leftovers the sweep removed (unfinished writes, objects of backups without a manifest, stale pins). */
  retention: { policy: RetentionPolicy; deleted: { store: string; ids: string[]; notListed?: number }[]; swept: { store: string; keys: string[] }[] };
  /** pg_dump's warnings (what the archive may lack, DumpResult.warnings) and a change of server retention saw; absent: none. */
  warnings?: string[];
}

/** The archive a restore or drill reads: a complete pgkeeper backup, or a loose archive without manifest. */
export interface ResolvedBackup {
  kind: 'manifest' | 'loose';
  /** The backup id, or the key of a loose archive. */
  label: string;
  /** The database the archive claims to hold; checked against its header before anything is created. */
  database: string;
  /** The store it is read from (its URL). */
  store: string;
  /**
   * Other stores that hold it complete (manifest and sizes check out), read in order when the
   * first one's bytes turn out damaged (a checksum or a filter fails). Absent: none, or --store.
   */
  copies?: string[];
  archiveKey: string;
  manifestKey: string | null;
  /** The stored bytes' size and SHA-256 (from the manifest, or a `.sha256` sidecar; null: none to check). */
  sizeBytes: number;
  sha256: string | null;
  filters: FilterStep[];
  plaintext: { sizeBytes: number; sha256: string } | null;
  /** Scratch space needed; null when unknown (loose archives). */
  dumpBytes: number | null;
  tocEntries: number | null;
  properties: CarriedProperties | null;
  /**
   * `properties` left its settings and comment out (they may hold a secret, and this passes through
   * history): they are read from the manifest where they are applied.
   */
  settingsInManifest?: true;
  /** The marker that keeps retention away while the run reads the backup: its key in the backup's store and in its copies'. */
  pinKey: string | null;
  /** The backup's own store refused the pin (one this worker may only read): nothing to remove there; its copies are still pinned. */
  pinRefused?: true;
  warnings: string[];
}

export interface RestoreValidation {
  tables: number;
  rows: number;
  warnings: string[];
}

export type RestorePhase =
  | 'resolving backup'
  | 'checking target'
  | 'waiting for database'
  | 'applying globals'
  | 'restoring into staging'
  | 'validating'
  | 'swapping in'
  | 'cleaning up'
  | 'done';

export interface RestoreProgress {
  phase: RestorePhase;
  staging: string;
  phaseStartedAt: string;
}

export interface StagingRestore {
  /** The staging database's OID: how a retried swap recognises that it already happened. */
  stagingOid: number;
  /** The store the archive was read from: the backup's, or a copy when its bytes there were damaged (absent in results recorded before it was reported). */
  store?: string;
  fetchMs: number;
  restoreMs: number;
  warnings: string[];
}

export interface RestoreResult {
  status: 'completed';
  target: string;
  mode: 'create' | 'replace';
  backup: { label: string; database: string; store: string; checksum: 'verified' | 'skipped' };
  /** Where the previous database went, in replace mode when the target existed. */
  keptPrevious: string | null;
  /** The globals backup applied first, and the roles and tablespaces it created (none from a worker older than the tablespace filter). */
  globals: { id: string; created: string[]; tablespaces?: string[] } | null;
  tables: number;
  rows: number;
  jobs: number;
  warnings: string[];
  durationsMs: { fetch: number; restore: number; validate: number; total: number };
}

export interface ClusterDatabaseOutcome {
  database: string;
  status: 'completed' | 'skipped' | 'failed';
  backupId?: string;
  sizeBytes?: number;
  /** Why it was skipped or failed. */
  reason?: string;
  /** Older backups a copy run left out, their primary archive found damaged (StoreOutcome.skipped). */
  notCopied?: { id: string; store: string; reason: string }[];
  /** pg_dump's warnings (BackupResult.warnings). */
  warnings?: string[];
}

export interface ClusterResult {
  status: 'completed' | 'failed';
  /** `id`: the globals backup made (also when its copy or retention failed, which `reason` says). */
  globals: { status: 'completed' | 'failed'; id?: string; encrypted?: boolean; reason?: string };
  databases: ClusterDatabaseOutcome[];
  durationMs: number;
}

export interface DrillProof {
  backupId: string;
  database: string;
  store: string;
  provenAt: string;
  tables: number;
  rows: number;
  warnings: string[];
  durationsMs: { fetch: number; restore: number; validate: number; total: number };
  workflow: { workflowId: string; runId: string };
}

export interface DrillResult extends DrillProof {
  status: 'completed';
  /** false when the proof is in this result (and the workflow's history) only; proofNotRecorded says why. */
  proofRecorded: boolean;
  /** Retention deleted the backup during the drill, or the store may only be read by this worker. */
  proofNotRecorded?: string;
}

/** One backup as `pgkeeper backups` shows it, across every store. */
export interface ListedBackup {
  id: string;
  database: string;
  /** The time in its id: when its run started. */
  createdAt: string;
  /** When the data was read (the dump's snapshot): later than createdAt when a dump was retried, after a worker died, say. */
  snapshotAt: string | null;
  /** complete on at least one store; damaged: on none (and damaged on some). */
  status: 'complete' | 'damaged';
  /** `newer`: damaged only in that its manifest was written by a newer pgkeeper (the files are likely sound: upgrade, do not delete). */
  locations: { store: string; status: 'complete' | 'damaged'; reason?: string; newer?: true }[];
  sizeBytes: number | null;
  sha256: string | null;
  compression: string | null;
  encrypted: boolean | null;
  /** The age public keys it is encrypted to ([]: not encrypted): which identity a restore needs, through a key rotation. */
  recipients: string[] | null;
  verify: 'full' | 'toc' | null;
  finishedAt: string | null;
  lastProvenAt: string | null;
}

/** A globals backup (roles, tablespaces), for `pgkeeper restore --globals <id>`. */
export interface ListedGlobals {
  id: string;
  createdAt: string;
  status: 'complete' | 'damaged';
  locations: ListedBackup['locations'];
  sizeBytes: number | null;
  encrypted: boolean | null;
  recipients: ListedBackup['recipients'];
  roles: number | null;
  finishedAt: string | null;
}

/** A store that did not answer (StoreUnavailable): what it is and why. */
export interface StoreUnreachable {
  store: string;
  reason: string;
}

/** An archive of one backup in one store that `pgkeeper verify` did not find whole. */
export interface ArchiveProblem {
  id: string;
  /** The database's name, or `.globals`. */
  folder: string;
  store: string;
  /** damaged: not the bytes its manifest recorded (or listed so); unreadable: the store did not hand them over, or only a newer pgkeeper reads its manifest. */
  verdict: 'damaged' | 'unreadable';
  reason: string;
}

/**
 * What `pgkeeper verify` found. Intact archives are counted, not listed: a worker with hundreds of
 * databases and copies must not outgrow Temporal's payload limit with a list of good news.
 */
export interface VerifyResult {
  /** The database whose backups were verified; absent: every backup. */
  database?: string;
  /** The stores verified (all of the worker's, or the one named). */
  stores: string[];
  unreachable: StoreUnreachable[];
  /** Stores that answered holding no backup (of the database): unmounted, a wrong prefix, copies never made. */
  empty: string[];
  /** Archives that read back as their manifests recorded them. */
  intact: number;
  /** The first problems found, each with why... */
  problems: ArchiveProblem[];
  /** ...and how many more there were (`pgkeeper backups` lists every DAMAGED one). */
  problemsNotListed: number;
  /** Every archive found DAMAGED, and every one UNREADABLE, listed or not (absent from an older worker's result). */
  damaged?: number;
  unreadable?: number;
  bytesRead: number;
  durationMs: number;
  warnings: string[];
}

export interface BackupListing {
  stores: string[];
  /** Stores that did not answer: their copies are missing from this listing. */
  unreachable: StoreUnreachable[];
  backups: ListedBackup[];
  /** Globals backups, newest first; listed only when no database is asked for. */
  globals: ListedGlobals[];
  /**
   * Where the next page starts (ask again with it as `from`), or null when this was the last; a
   * worker older than paging leaves it out (it answers in one).
   */
  next?: ListingCursor | null;
  /** Asked for a database of which no store holds a backup: the databases the stores do hold. */
  others?: string[];
}

/**
 * Where a page of a listing starts: the folder (a database's, or `.globals` after them all), and
 * within it the backups older than `after` (ids carry the time). Ids, not positions: a backup made or deleted
 * between two pages moves no other from one page to the next.
 */
export interface ListingCursor {
  folder: string;
  after?: string;
}

/** The databases on the worker's server, and which server. */
export interface ServerDatabases {
  /** host:port, for messages. */
  server: string;
  /** Every one, templates included. */
  databases: string[];
  templates: string[];
  /** Templates that take no connections (ALLOW_CONNECTIONS false, as a template is kept safe): none can be dumped. */
  closedTemplates?: string[];
  /** pgkeeper's own staging and drill databases (named so and marked); absent from a worker older than the mark. */
  staging?: string[];
}
