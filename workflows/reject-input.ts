import { ApplicationFailure } from '@temporalio/workflow';
import { FailureType, InputError } from '../common/errors.js';

/** Input errors fail the workflow at once, without retries, with a message that says what to fix. */
export function rejectInput<T>(validate: () => T): T {
  try {
    return validate();
  } catch (err) {
    if (err instanceof InputError) throw ApplicationFailure.nonRetryable(err.message, FailureType.InvalidInput);
    throw err;
  }
}
