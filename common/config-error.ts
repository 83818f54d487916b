/** A bad environment variable: one line naming the variable, what it expects and what it got (never a secret). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
