/**
 * Inputs, results and the on-disk manifest. Everything here ends up in workflow history and the
 * Temporal UI: paths, sizes, checksums and durations only, never data and never secrets.
 */
import type { RetentionDecision, RetentionPolicy } from './retention-plan.js';

export interface BackupInput {
  /** Name of the database to back up. */
  database: string;
  /** gzip level 0-9 for pg_dump -Z. Default 1: ~2.4x faster than pg_dump's 6 for a ~19% larger file. */
  compressLevel?: number;
  /** How long to wait for the server to accept connections. Default 600 s. */
  waitTimeoutSeconds?: number;
  /** Retention applied after a successful backup. Default: maxAgeDays = the worker's RETENTION_DAYS. */
  retention?: RetentionPolicy;
  /**
   * "full" (default): every block of the archive is read back by pg_restore while it is written.
   * "toc": only the table of contents is read; ~15% faster on 2 cores, but a bad data block is
   * found only at restore time (the checksum still guards against later damage).
   */
  verify?: 'full' | 'toc';
}

export interface ServerInfo {
  version: string;
  versionNum: number;
}

export interface TableEstimate {
  schema: string;
  name: string;
  /** From the catalog when the dump started; null when PostgreSQL has never analysed the table. */
  rowEstimate: number | null;
}

export interface BackupManifest {
  manifestVersion: 1;
  id: string;
  database: string;
  format: 'custom';
  compressLevel: number;
  /** "full": every block was read back while it was written; "toc": only the table of contents. */
  verify: 'full' | 'toc';
  file: string;
  sizeBytes: number;
  sha256: string;
  server: ServerInfo;
  pgDumpVersion: string;
  startedAt: string;
  finishedAt: string;
  durationsMs: { dump: number; verify: number };
  toc: { entries: number; tableDataEntries: number };
  tables: TableEstimate[];
  workflow: { workflowId: string; runId: string };
}

export interface DumpRequest {
  database: string;
  backupId: string;
  compressLevel: number;
  /** Read the archive back with pg_restore while it is written. */
  fullVerify: boolean;
  workflow: { workflowId: string; runId: string };
}

export interface DumpResult {
  sizeBytes: number;
  sha256: string;
  durationMs: number;
  tableCount: number;
}

export interface VerifyResult {
  tocEntries: number;
  tableDataEntries: number;
  durationMs: number;
}

export interface PublishRequest {
  database: string;
  backupId: string;
  dump: DumpResult;
  verify: VerifyResult;
}

export interface PublishedBackup {
  dumpPath: string;
  checksumPath: string;
  manifestPath: string;
}

export interface RetentionRequest {
  database: string;
  policy?: RetentionPolicy;
  dryRun?: boolean;
}

export interface RetentionResult {
  policy: RetentionPolicy;
  kept: number;
  deleted: string[];
  removedPartials: string[];
  plan: RetentionDecision[];
}

export type BackupPhase = 'starting' | 'waiting for database' | 'dumping' | 'verifying' | 'publishing' | 'applying retention' | 'done';

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
  dumpPath: string;
  manifestPath: string;
  sizeBytes: number;
  sha256: string;
  compressLevel: number;
  verify: 'full' | 'toc';
  tables: number;
  durationsMs: { wait: number; dump: number; verify: number; publish: number; retention: number; total: number };
  retention: { policy: RetentionPolicy; kept: number; deleted: string[] };
}

/** The archive a restore reads: a complete pgkeeper backup, or a seed-style file without manifest. */
export interface ResolvedBackup {
  kind: 'manifest' | 'seed';
  /** The backup id, or the file name of a seed-style archive. */
  label: string;
  /** The database the archive was taken from. */
  database: string;
  /** Where the archive lives in BACKUP_DIR, for people. */
  sourcePath: string;
  /** Where the run reads it: a pinned hard link when pinned. */
  dumpPath: string;
  manifestPath?: string;
  sizeBytes: number;
  sha256?: string;
  tocEntries?: number;
}

export interface RestoreValidation {
  tables: number;
  rows: number;
  warnings: string[];
}

export type RestorePhase =
  | 'resolving backup'
  | 'verifying checksum'
  | 'waiting for database'
  | 'applying globals'
  | 'checking target and roles'
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

export interface RestoreResult {
  status: 'completed';
  target: string;
  mode: 'create' | 'replace';
  backup: { label: string; database: string; path: string; checksum: 'verified' | 'skipped' };
  /** Where the previous database went, in replace mode when the target existed. */
  keptPrevious: string | null;
  /** The globals backup applied first, and the roles it created. */
  globals: { id: string; created: string[] } | null;
  tables: number;
  rows: number;
  jobs: number;
  warnings: string[];
  durationsMs: { verify: number; restore: number; validate: number; total: number };
}

export interface ClusterDatabaseOutcome {
  database: string;
  status: 'completed' | 'skipped' | 'failed';
  backupId?: string;
  sizeBytes?: number;
  /** Why it was skipped or failed. */
  reason?: string;
}

export interface ClusterResult {
  status: 'completed' | 'failed';
  globals: { status: 'completed' | 'failed'; id?: string; path?: string; reason?: string };
  databases: ClusterDatabaseOutcome[];
  durationMs: number;
}

export interface DrillProof {
  backupId: string;
  database: string;
  provenAt: string;
  tables: number;
  rows: number;
  warnings: string[];
  durationsMs: { verify: number; restore: number; validate: number; total: number };
  workflow: { workflowId: string; runId: string };
}

export interface DrillResult extends DrillProof {
  status: 'completed';
  /** null when retention deleted the backup during the drill: the proof is in this result only. */
  proofPath: string | null;
}
