/** Validation and defaults of backupDatabase input; shared by the workflow and the CLI. */
import { InputError } from './errors.js';
import { validateDatabaseName } from './names.js';
import type { RetentionPolicy } from './retention-plan.js';
import type { BackupInput } from './types.js';

const DEFAULT_COMPRESS_LEVEL = 1;
export const DEFAULT_WAIT_TIMEOUT_SECONDS = 600;

export interface NormalizedBackupInput {
  database: string;
  compressLevel: number;
  waitTimeoutSeconds: number;
  retention: RetentionPolicy | undefined;
  verify: 'full' | 'toc';
}

function wholeNumber(value: unknown, field: string, min: number, max: number, hint: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InputError(`${field} must be a whole number from ${min} to ${max} (${hint}); got ${JSON.stringify(value)}`);
  }
  return value;
}

export function validateVerify(verify: unknown): 'full' | 'toc' {
  if (verify === undefined) return 'full';
  if (verify !== 'full' && verify !== 'toc') {
    throw new InputError(`verify must be "full" (read every block back) or "toc" (table of contents only); got ${JSON.stringify(verify)}`);
  }
  return verify;
}

const RETENTION_RULES = ['keepLast', 'keepDaily', 'keepWeekly', 'keepMonthly', 'maxAgeDays'] as const;

export function validateRetentionPolicy(policy: unknown): RetentionPolicy {
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
    throw new InputError(`retention must be an object such as {"maxAgeDays": 7} or {"keepDaily": 7, "keepWeekly": 4}`);
  }
  const result: RetentionPolicy = {};
  for (const [key, value] of Object.entries(policy)) {
    if (!(RETENTION_RULES as readonly string[]).includes(key)) {
      throw new InputError(`retention.${key} is not a retention rule; use ${RETENTION_RULES.join(', ')}`);
    }
    result[key as (typeof RETENTION_RULES)[number]] = wholeNumber(value, `retention.${key}`, 0, 100_000, 'a count or a number of days');
  }
  return result;
}

export function normalizeBackupInput(input: BackupInput | undefined): NormalizedBackupInput {
  if (typeof input !== 'object' || input === null) {
    throw new InputError('backupDatabase takes one object, e.g. {"database": "app"}');
  }
  return {
    database: validateDatabaseName(input.database),
    compressLevel:
      input.compressLevel === undefined
        ? DEFAULT_COMPRESS_LEVEL
        : wholeNumber(input.compressLevel, 'compressLevel', 0, 9, 'pg_dump -Z: 0 none, 1 fastest, 9 smallest'),
    waitTimeoutSeconds:
      input.waitTimeoutSeconds === undefined
        ? DEFAULT_WAIT_TIMEOUT_SECONDS
        : wholeNumber(input.waitTimeoutSeconds, 'waitTimeoutSeconds', 1, 86_400, 'seconds to wait for the server'),
    retention: input.retention === undefined ? undefined : validateRetentionPolicy(input.retention),
    verify: validateVerify(input.verify),
  };
}

/** `keepDaily=7,keepWeekly=4,maxAgeDays=90` (the CLI's --retention) -> a validated policy. */
export function parseRetentionSpec(spec: string): RetentionPolicy {
  const policy: Record<string, number> = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, value] = part.split('=');
    if (!key || value === undefined || value.trim() === '' || Number.isNaN(Number(value))) {
      throw new InputError(`retention "${part}" is not rule=number; write e.g. keepDaily=7,keepWeekly=4,keepMonthly=12,maxAgeDays=90`);
    }
    policy[key.trim()] = Number(value);
  }
  return validateRetentionPolicy(policy);
}
