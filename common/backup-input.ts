/** Validation and defaults of backupDatabase input; shared by the workflow and the CLI. */
import { InputError } from './errors.js';
import { parseCompression, type Compression } from './filters.js';
import { checkFields, jsonSurface, quoteInput, type InputSurface } from './input-fields.js';
import { validateDatabaseName } from './names.js';
import { keepsOnlyNewest, type RetentionPolicy } from './retention-plan.js';

export const DEFAULT_WAIT_TIMEOUT_SECONDS = 600;

export interface BackupInput {
  /** Name of the database to back up. */
  database: string;
  /** "zstd:N" (default zstd:1, on the stream), "gzip:N" (pg_dump's own) or "none". */
  compression?: string;
  /** Before `compression` existed: pg_dump's gzip level 0-9. Still accepted (schedules made earlier carry it). */
  compressLevel?: number;
  /** How long to wait for the server to accept connections. Default 600 s. */
  waitTimeoutSeconds?: number;
  /** Retention applied after a successful backup. Default: maxAgeDays = the worker's RETENTION_DAYS. */
  retention?: RetentionPolicy;
  /**
   * "full" (default): every block of the archive is read back by pg_restore while it is written.
   * "toc": only the table of contents is read; faster, but a bad data block is found only at
   * restore time (the checksum still guards against later damage).
   */
  verify?: 'full' | 'toc';
}

export const BACKUP_FIELDS = ['database', 'compression', 'compressLevel', 'waitTimeoutSeconds', 'retention', 'verify'] as const;

export interface NormalizedBackupInput {
  database: string;
  compression: Compression;
  waitTimeoutSeconds: number;
  retention: RetentionPolicy | undefined;
  verify: 'full' | 'toc';
}

function wholeNumber(value: unknown, field: string, min: number, max: number, hint: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InputError(`${field} must be a whole number from ${min} to ${max} (${hint}); got ${quoteInput(value)}`);
  }
  return value;
}

export function validateVerify(verify: unknown, surface: InputSurface = jsonSurface): 'full' | 'toc' {
  if (verify === undefined) return 'full';
  if (verify !== 'full' && verify !== 'toc') {
    throw new InputError(`${surface.field('verify')} must be "full" (read every block back) or "toc" (table of contents only); got ${quoteInput(verify)}`);
  }
  return verify;
}

const RETENTION_RULES = ['keepLast', 'keepDaily', 'keepWeekly', 'keepMonthly', 'maxAgeDays'] as const;

/** `field`: the input's name for the policy (`retention` of a backup, `policy` of applyRetention), for messages. */
export function validateRetentionPolicy(policy: unknown, surface: InputSurface = jsonSurface, field = 'retention'): RetentionPolicy {
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
    throw new InputError(`${surface.field(field)} must be an object such as {"maxAgeDays": 7} or {"keepDaily": 7, "keepWeekly": 4}; got ${quoteInput(policy)}`);
  }
  // A rule given as null is left out, as a top-level field given as null is.
  const rules = checkFields(policy, RETENTION_RULES, field, '{"keepDaily": 7}', surface);
  const result: RetentionPolicy = {};
  for (const [key, value] of Object.entries(rules)) {
    result[key as (typeof RETENTION_RULES)[number]] = wholeNumber(value, `${field}.${key}`, 0, 100_000, 'a count or a number of days');
  }
  return result;
}

/** `compression`, or the older `compressLevel` (pg_dump's gzip level), never both. */
export function compressionOf(input: { compression?: unknown; compressLevel?: unknown }, surface: InputSurface): Compression {
  if (input.compressLevel === undefined) return parseCompression(input.compression, surface);
  if (input.compression !== undefined) {
    throw new InputError(`give ${surface.field('compression')} or ${surface.field('compressLevel')} (the older gzip level), not both`);
  }
  return { kind: 'gzip', level: wholeNumber(input.compressLevel, surface.field('compressLevel'), 0, 9, 'pg_dump -Z: 0 none, 1 fastest, 9 smallest') };
}

export function normalizeBackupInput(input: unknown, surface: InputSurface = jsonSurface): NormalizedBackupInput {
  const value = checkFields(input, BACKUP_FIELDS, 'backupDatabase', '{"database": "app"}', surface) as Partial<BackupInput>;
  return {
    database: validateDatabaseName(value.database, surface.field('database')),
    compression: compressionOf(value, surface),
    waitTimeoutSeconds:
      value.waitTimeoutSeconds === undefined
        ? DEFAULT_WAIT_TIMEOUT_SECONDS
        : wholeNumber(value.waitTimeoutSeconds, surface.field('waitTimeoutSeconds'), 1, 86_400, 'seconds to wait for the server'),
    retention: value.retention === undefined ? undefined : validateRetentionPolicy(value.retention, surface),
    verify: validateVerify(value.verify, surface),
  };
}

/**
 * `keepDaily=7,keepWeekly=4,maxAgeDays=90` (the CLI's --retention) -> a validated policy. Strict:
 * it deletes backups, so `keepLast=3=9`, a rule given twice or `1e2` is a mistake to say, and an
 * empty one (a shell variable not set) would keep only the newest backup.
 */
export function parseRetentionSpec(spec: string, surface: InputSurface = jsonSurface): RetentionPolicy {
  const example = 'keepDaily=7,keepWeekly=4,keepMonthly=12,maxAgeDays=90';
  const parts = spec.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) {
    throw new InputError(`${surface.field('retention')} is empty: a policy with no rule would keep only the newest backup; give rules, e.g. ${example}, or leave it out (the worker's RETENTION_DAYS)`);
  }
  const policy: Record<string, number> = Object.create(null);
  for (const part of parts) {
    const rule = /^([^=\s]+)\s*=\s*(\d+)$/.exec(part);
    if (!rule) throw new InputError(`${surface.field('retention')} ${quoteInput(part)} is not rule=whole number; write e.g. ${example}`);
    if (Object.hasOwn(policy, rule[1]!)) throw new InputError(`${surface.field('retention')} gives ${rule[1]} twice; give each rule once`);
    policy[rule[1]!] = Number(rule[2]);
  }
  const validated = validateRetentionPolicy(policy, surface);
  if (keepsOnlyNewest(validated)) {
    throw new InputError(`${surface.field('retention')} ${quoteInput(spec)}: every rule is 0, which would keep only the newest backup and delete the rest; give a rule above 0, e.g. ${example}`);
  }
  return validated;
}
