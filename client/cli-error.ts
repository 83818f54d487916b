/** An error the CLI reports as one line and a non-zero exit code, without a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

import { InputError } from '../common/errors.js';

export { rootCauseMessage } from '../common/failure-message.js';

/** Runs a validation the workflow would also run, so bad input fails here, before anything starts, as one CLI line. */
export function checkInput<T>(validate: () => T): T {
  try {
    return validate();
  } catch (err) {
    if (err instanceof InputError) throw new CliError(err.message);
    throw err;
  }
}
