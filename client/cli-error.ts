/** Errors the CLI reports as one line and a non-zero exit code, without a stack trace. */
import { FailureType, InputError } from '../common/errors.js';
import { rootCauseMessage, rootCauseType } from '../common/failure-message.js';
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

/** A run that failed: `what` and its root cause in one line, plus what to type next when that is a flag. */
export function failedRun(what: string, err: unknown, context?: HintContext): CliError {
  const type = rootCauseType(err);
  const hint = cliHint(type, context);
  return new CliError(`${what}: ${rootCauseMessage(err)}${hint ? ` (${hint})` : ''}`, 1, type === FailureType.StoreUnavailable);
}
