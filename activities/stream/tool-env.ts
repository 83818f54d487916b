/**
 * The environment external tools run with: only what they need, never the worker's own secrets
 * (TEMPORAL_API_KEY, AWS_SECRET_ACCESS_KEY, ...), which an inherited environment would hand to
 * every pg_dump, zstd and age (and make readable in /proc to anyone running as the same user).
 */
const PASSED = /^(PATH|HOME|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR|PGPASSFILE|PGSSL[A-Z]*|PGSERVICEFILE|PGTZ|PGCLIENTENCODING)$/;

export function toolEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && PASSED.test(name)) env[name] = value;
  return { ...env, ...extra };
}
