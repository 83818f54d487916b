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

/** The most specific message in a Temporal failure chain (workflow -> activity -> application failure). */
export function rootCauseMessage(err: unknown): string {
  let current = err as { message?: string; cause?: unknown } | undefined;
  let message = String(err);
  while (current) {
    if (current.message) message = current.message;
    current = current.cause as typeof current;
  }
  return message;
}
