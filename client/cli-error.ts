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

export { rootCauseMessage } from '../common/failure-message.js';
