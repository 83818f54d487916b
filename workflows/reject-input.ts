import { ApplicationFailure, patched, upsertSearchAttributes } from '@temporalio/workflow';
import { FailureType, InputError } from '../common/errors.js';
import { hasExtraInputs } from '../common/input-fields.js';
import { isDatabaseName } from '../common/names.js';
import { keepsOnlyNewest, type RetentionPolicy } from '../common/retention-plan.js';
import { PGK_DATABASE, PGK_OPERATION, PGK_OUTCOME, PGK_STARTED_BY, type Operation } from '../common/search-attributes.js';
import { startedBy } from './audit.js';

/**
 * Which run a refused input belongs to: its operation (none for a question such as a listing,
 * which `pgkeeper history` does not show), and the database it names when it names one as a string.
 */
export interface RefusedRun {
  operation?: Operation;
  input: unknown;
  /** The field that names the database ("database"; "target" for a restore)... */
  databaseField?: string;
  /** ...or the database it stands for (a cluster backup: every database). */
  database?: string;
  /** Inputs after the first: the run takes one object, and a field in a second would be ignored. */
  extra?: unknown[];
}

/**
 * Input errors fail the workflow at once, without retries, with a message that says what to fix.
 * With `run`, the refused run carries pgkeeper's search attributes (operation, outcome "failed",
 * the database if the input names one), so `pgkeeper history` shows a start from the UI that was
 * refused, not only the runs that got going.
 */
export function rejectInput<T>(validate: () => T, run?: RefusedRun): T {
  try {
    // A second input (the UI takes a list of them) would be ignored: a restore started with its
    // backup id in it would restore the latest backup instead. Behind a patch: an older worker ran
    // such runs on their first input, and a replay must not fail them now.
    const inputs = [run?.input, ...(run?.extra ?? [])];
    if (hasExtraInputs(inputs) && patched('refuse-extra-inputs')) {
      throw new InputError(`the input is one JSON object holding every field; this run was started with ${inputs.length} inputs: put their fields into the first and start it again`);
    }
    return validate();
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    // Behind a patch: a refused run of an older worker, replayed for a query, made no such command.
    if (run?.operation && patched('audit-refused-input')) {
      const named = run.database ?? (run.databaseField && typeof run.input === 'object' && run.input !== null ? (run.input as Record<string, unknown>)[run.databaseField] : undefined);
      // Only a valid name: the refused input may be anything, and an attribute over Temporal's size
      // limit would fail the workflow task for ever instead of the run.
      const database = typeof named === 'string' && isDatabaseName(named) ? named : undefined;
      upsertSearchAttributes([
        { key: PGK_OPERATION, value: run.operation },
        { key: PGK_OUTCOME, value: 'failed' },
        { key: PGK_STARTED_BY, value: startedBy() },
        ...(database !== undefined ? [{ key: PGK_DATABASE, value: database }] : []),
      ]);
    }
    throw ApplicationFailure.nonRetryable(err.message, FailureType.InvalidInput);
  }
}

/**
 * A retention policy with no rule (`{}`, a form's empty object) keeps only the newest backup and
 * deletes the rest: refused, naming `field`. Behind a patch: a run an older worker began with one
 * replays as it ran.
 */
export function requireRetentionRule<T extends { [K in F]?: RetentionPolicy }, F extends string>(normalized: T, field: F): T {
  const policy = normalized[field];
  if (policy && Object.keys(policy).length === 0 && patched('retention-needs-a-rule')) {
    throw new InputError(`"${field}" has no rule: it would keep only the newest backup and delete the rest; give rules, e.g. {"keepDaily": 7, "keepWeekly": 4}, or leave "${field}" out (the worker's RETENTION_DAYS)`);
  }
  // Rules of 0 keep nothing of their own: all of them 0 is a policy with no rule.
  if (policy && Object.keys(policy).length > 0 && keepsOnlyNewest(policy) && patched('retention-zero-rules')) {
    throw new InputError(`every rule of "${field}" is 0 (${JSON.stringify(policy)}): it would keep only the newest backup and delete the rest; give a rule above 0, e.g. {"keepDaily": 7, "keepWeekly": 4}, or leave "${field}" out (the worker's RETENTION_DAYS)`);
  }
  return normalized;
}
