/** Input of backupCluster: which databases, how many at once, and what each backup gets. */
import { compressionOf, validateRetentionPolicy, validateVerify } from './backup-input.js';
import { InputError } from './errors.js';
import { formatCompression } from './filters.js';
import { checkFields, jsonSurface, quoteInput, type InputSurface } from './input-fields.js';
import { isStagingName } from './restore-input.js';
import type { RetentionPolicy } from './retention-plan.js';
import type { ServerDatabases } from './types.js';

export interface ClusterInput {
  /** Names or `*` patterns to back up; default all non-template databases. */
  include?: string[];
  /** Names or `*` patterns to leave out. */
  exclude?: string[];
  /** Databases backed up at the same time. Default 2. */
  concurrency?: number;
  /** As backupDatabase's: "zstd:N", "gzip:N", "none". */
  compression?: string;
  /** The older form of compression: pg_dump's gzip level. */
  compressLevel?: number;
  retention?: RetentionPolicy;
  verify?: 'full' | 'toc';
}

const CLUSTER_FIELDS = ['include', 'exclude', 'concurrency', 'compression', 'compressLevel', 'retention', 'verify'] as const;

export interface NormalizedClusterInput {
  include: string[];
  exclude: string[];
  concurrency: number;
  /** Passed on to each database's backup; undefined: its default. */
  compression: string | undefined;
  retention: RetentionPolicy | undefined;
  verify: 'full' | 'toc';
}

function patterns(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((p) => typeof p !== 'string' || p === '')) {
    throw new InputError(`${field} must be a list of database names or * patterns, e.g. ["app", "reports_*"]; got ${quoteInput(value)}`);
  }
  return value as string[];
}

export function normalizeClusterInput(input: unknown = {}, surface: InputSurface = jsonSurface): NormalizedClusterInput {
  const value = checkFields(input ?? {}, CLUSTER_FIELDS, 'backupCluster', '{"exclude": ["scratch"]}', surface) as ClusterInput;
  const concurrency = value.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16) {
    throw new InputError(`${surface.field('concurrency')} must be a whole number from 1 to 16; got ${quoteInput(value.concurrency)}`);
  }
  const compressed = value.compression === undefined && value.compressLevel === undefined ? undefined : compressionOf(value, surface);
  return {
    include: patterns(value.include, surface.field('include')),
    exclude: patterns(value.exclude, surface.field('exclude')),
    concurrency,
    compression: compressed && formatCompression(compressed),
    retention: value.retention === undefined ? undefined : validateRetentionPolicy(value.retention, surface),
    verify: validateVerify(value.verify, surface),
  };
}

function matches(name: string, pattern: string): boolean {
  // `s`: "any characters" includes line breaks, which a database name may hold.
  const regex = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
  return regex.test(name);
}

export function selectDatabases(all: string[], include: string[], exclude: string[]): string[] {
  return all.filter((db) => (include.length === 0 || include.some((p) => matches(db, p))) && !exclude.some((p) => matches(db, p)));
}

/**
 * What a cluster backup of `server` covers: `candidates`, every database worth a backup (the system's templates
 * never are; pgkeeper's own staging and drill databases are work in progress), and `selected`,
 * those the patterns leave.
 */
const SYSTEM_TEMPLATES = ['template0', 'template1'];

export function clusterSelection(server: ServerDatabases, include: string[], exclude: string[]): { candidates: string[]; selected: string[] } {
  // template0 and template1, PostgreSQL's own, and templates kept closed to connections: a database
  // of someone's marked IS_TEMPLATE that can be dumped holds their data (and was skipped without a word).
  const closed = server.closedTemplates ?? [];
  const templates = (server.templates ?? []).filter((db) => SYSTEM_TEMPLATES.includes(db) || closed.includes(db)); // a worker of late November answered without them
  // Told by pgkeeper's mark: a database of someone else's may have a name like a staging one (a worker older than the mark answers without).
  const staging = server.staging ?? server.databases.filter(isStagingName);
  const candidates = server.databases.filter((db) => !templates.includes(db) && !staging.includes(db));
  return { candidates, selected: selectDatabases(candidates, include, exclude) };
}
