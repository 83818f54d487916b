/** Input of applyRetention (`pgkeeper prune`): retention on its own, e.g. after changing a policy. */
import { validateRetentionPolicy } from './backup-input.js';
import { InputError } from './errors.js';
import { checkFields, jsonSurface, quoteInput, type InputSurface } from './input-fields.js';
import { validateDatabaseName } from './names.js';
import type { RetentionPolicy } from './retention-plan.js';

export interface ApplyRetentionInput {
  database: string;
  /** Default: maxAgeDays = the worker's RETENTION_DAYS. */
  policy?: RetentionPolicy;
  /** Plan only; delete nothing. */
  dryRun?: boolean;
}

export interface NormalizedRetentionInput {
  database: string;
  policy: RetentionPolicy | undefined;
  dryRun: boolean;
}

export function normalizeRetentionInput(input: unknown, surface: InputSurface = jsonSurface): NormalizedRetentionInput {
  const value = checkFields(input, ['database', 'policy', 'dryRun'], 'applyRetention', '{"database": "app", "dryRun": true}', surface) as Partial<ApplyRetentionInput>;
  if (value.dryRun !== undefined && typeof value.dryRun !== 'boolean') {
    throw new InputError(`${surface.field('dryRun')} must be true or false; got ${quoteInput(value.dryRun)}`);
  }
  return {
    database: validateDatabaseName(value.database, surface.field('database')),
    policy: value.policy === undefined ? undefined : validateRetentionPolicy(value.policy, surface, 'policy'),
    dryRun: value.dryRun === true,
  };
}
