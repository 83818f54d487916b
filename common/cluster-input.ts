/** Input of backupCluster: which databases, how many at once, and what each backup gets. */
import { normalizeBackupInput } from './backup-input.js';
import { InputError } from './errors.js';
import type { RetentionPolicy } from './retention-plan.js';

export interface ClusterInput {
  /** Names or `*` patterns to back up; default all non-template databases. */
  include?: string[];
  /** Names or `*` patterns to leave out. */
  exclude?: string[];
  /** Databases backed up at the same time. Default 2. */
  concurrency?: number;
  compressLevel?: number;
  retention?: RetentionPolicy;
  verify?: 'full' | 'toc';
}

export interface NormalizedClusterInput {
  include: string[];
  exclude: string[];
  concurrency: number;
  compressLevel: number | undefined;
  retention: RetentionPolicy | undefined;
  verify: 'full' | 'toc';
}

function patterns(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((p) => typeof p !== 'string' || p === '')) {
    throw new InputError(`${field} must be a list of database names or * patterns, e.g. ["app", "reports_*"]`);
  }
  return value as string[];
}

export function normalizeClusterInput(input: ClusterInput | undefined): NormalizedClusterInput {
  const value = input ?? {};
  if (typeof value !== 'object' || value === null) throw new InputError('backupCluster takes one object, e.g. {"exclude": ["scratch"]}');
  const concurrency = value.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16) {
    throw new InputError(`concurrency must be a whole number from 1 to 16; got ${JSON.stringify(value.concurrency)}`);
  }
  // compressLevel and retention are checked the way each database's backup will check them.
  const shared = normalizeBackupInput({ database: 'x', compressLevel: value.compressLevel, retention: value.retention, verify: value.verify });
  return {
    include: patterns(value.include, 'include'),
    exclude: patterns(value.exclude, 'exclude'),
    concurrency,
    compressLevel: value.compressLevel === undefined ? undefined : shared.compressLevel,
    retention: shared.retention,
    verify: shared.verify,
  };
}

function matches(name: string, pattern: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return regex.test(name);
}

export function selectDatabases(all: string[], include: string[], exclude: string[]): string[] {
  return all.filter((db) => (include.length === 0 || include.some((p) => matches(db, p))) && !exclude.some((p) => matches(db, p)));
}
