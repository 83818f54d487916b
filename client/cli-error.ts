/** Errors the CLI reports as one line and a non-zero exit code, without a stack trace. */
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { FailureType, InputError } from '../common/errors.js';
import { rootCauseDetails, rootCauseMessage, rootCauseType } from '../common/failure-message.js';
import { cliHint, type HintContext } from './cli-surface.js';

export { rootCauseMessage };

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
    /** The run failed because no store answered (StoreUnavailable): `status` counts that as needing attention. */
    readonly storesDown = false,
  ) {
    super(message);
  }
}

/** Runs a validation the workflow would also run, so bad input fails here, before anything starts, as one CLI line. */
export function checkInput<T>(validate: () => T): T {
  try {
    return validate();
  } catch (err) {
    if (err instanceof InputError) throw new CliError(err.message);
    throw err;
  }
}

/**
 * A run that failed: `what` ("backup of … failed") and its root cause in one line, plus what to
 * type next when that is a flag. A run someone cancelled (the UI, `temporal workflow cancel`) did
 * not fail: it says so, exit code 1 all the same (it did not do its work).
 */
export function failedRun(what: string, err: unknown, context?: HintContext): CliError {
  if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
    // The last "failed" is the verdict: an earlier one may be inside a database's name.
    const at = Math.max(what.lastIndexOf(' failed'), what.lastIndexOf(' FAILED'));
    const cancelled = at < 0 ? `${what} (cancelled)` : `${what.slice(0, at)} was cancelled${what.slice(at + ' failed'.length)}`;
    return new CliError(`${cancelled}: someone cancelled the run (in the Temporal UI, say)`);
  }
  const type = rootCauseType(err);
  // The problem without the worker's own words for its fix (activities/failures.ts refusal), when there is one.
  const problem = problemOf(err);
  // A database missing is the replace's own refusal only when it comes as one (not a staging database gone, say).
  const hint = cliHint(type, { ...context, replace: context?.replace === true && problem !== undefined });
  return new CliError(`${what}: ${(hint && problem) || rootCauseMessage(err)}${hint ? ` (${hint})` : ''}`, 1, type === FailureType.StoreUnavailable);
}

function problemOf(err: unknown): string | undefined {
  const detail = rootCauseDetails(err)?.[0] as { problem?: unknown } | undefined;
  return typeof detail?.problem === 'string' ? detail.problem : undefined;
}
