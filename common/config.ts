/**
 * Configuration of the worker and the CLI, read from the environment and validated with zod.
 * Pure: takes the environment as an argument, so tests can pass their own.
 * The variable names of the original backup.sh/restore.sh (DB_HOST, DB_PORT, DB_USER, DB_PASSWORD) are kept.
 */
import { z } from 'zod';
import { parseTemporalSecurity, type TemporalSecurity } from './temporal-security.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

const port = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a port number from 1 to 65535` })
    .int({ error: `${name} must be a whole port number from 1 to 65535` })
    .min(1, { error: `${name} must be a port number from 1 to 65535` })
    .max(65535, { error: `${name} must be a port number from 1 to 65535` });

const nonEmpty = (name: string, example: string) =>
  z.string().trim().min(1, { error: `${name} must not be empty (e.g. ${example})` });

const envSchema = z.object({
  DB_HOST: nonEmpty('DB_HOST', '127.0.0.1').default('127.0.0.1'),
  DB_PORT: port('DB_PORT').default(5432),
  DB_USER: nonEmpty('DB_USER', 'postgres').default('postgres'),
  DB_PASSWORD: z.string().optional(),
  BACKUP_DIR: nonEmpty('BACKUP_DIR', '/var/backups/pgkeeper').default('.data/backups'),
  RETENTION_DAYS: z.coerce
    .number({ error: 'RETENTION_DAYS must be a whole number of days, at least 1 (e.g. 7)' })
    .int({ error: 'RETENTION_DAYS must be a whole number of days, at least 1 (e.g. 7)' })
    .min(1, { error: 'RETENTION_DAYS must be at least 1: the newest backup is always kept, so 0 days would mean nothing' })
    .default(7),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, { error: 'TEMPORAL_ADDRESS must be host:port (e.g. 127.0.0.1:7233)' })
    .default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: nonEmpty('TEMPORAL_NAMESPACE', 'default').default('default'),
  TASK_QUEUE: nonEmpty('TASK_QUEUE', 'pgkeeper').default('pgkeeper'),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })
    .default('info'),
  TEMPORAL_UI_URL: z.url({ error: 'TEMPORAL_UI_URL must be a URL such as http://127.0.0.1:8233' }).optional(),
  PG_BIN_DIR: z.string().trim().min(1).optional(),
  NOTIFY_WEBHOOK_URL: z.url({ error: 'NOTIFY_WEBHOOK_URL must be an http(s) URL (a Slack incoming webhook works)' }).optional(),
  NOTIFY_ON: z.enum(['failure', 'always'], { error: 'NOTIFY_ON must be "failure" or "always"' }).default('failure'),
  METRICS_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, { error: 'METRICS_ADDRESS must be host:port (e.g. 0.0.0.0:9464)' })
    .optional(),
});

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  db: { host: string; port: number; user: string; password: string | undefined };
  backupDir: string;
  retentionDays: number;
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string; security: TemporalSecurity };
  logLevel: LogLevel;
  pgBinDir: string | undefined;
  notify: { webhookUrl: string | undefined; on: 'failure' | 'always' };
  /** Where the worker serves Prometheus metrics; unset: not served. */
  metricsAddress: string | undefined;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Validates the environment. Throws a ConfigError whose message is one line naming the variable,
 * what it expects and what it got (never the value of DB_PASSWORD).
 * `resolvePath` makes BACKUP_DIR absolute; it is injected because this module has no Node imports.
 */
export function parseConfig(
  env: Record<string, string | undefined>,
  resolvePath: (p: string) => string = (p) => p,
): Config {
  // An empty variable is treated as unset, as a shell script would (`DB_PORT= pgkeeper ...`).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    // Secrets are never echoed: a password, or a webhook URL that embeds a token.
    const got = name === 'DB_PASSWORD' || name === 'NOTIFY_WEBHOOK_URL' ? '' : ` (got ${JSON.stringify(cleaned[name])})`;
    throw new ConfigError(`invalid configuration: ${issue.message}${got}`);
  }
  const e = parsed.data;
  return {
    db: { host: e.DB_HOST, port: e.DB_PORT, user: e.DB_USER, password: e.DB_PASSWORD },
    backupDir: resolvePath(e.BACKUP_DIR),
    retentionDays: e.RETENTION_DAYS,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TASK_QUEUE,
      // The dev server serves its UI on port 8233 of the same host.
      uiUrl: (e.TEMPORAL_UI_URL ?? `http://${e.TEMPORAL_ADDRESS.split(':')[0]}:8233`).replace(/\/$/, ''),
      // TLS, mTLS and API key variables (file paths and flags only; never a key).
      security: parseTemporalSecurity(env),
    },
    logLevel: e.LOG_LEVEL,
    pgBinDir: e.PG_BIN_DIR,
    notify: { webhookUrl: e.NOTIFY_WEBHOOK_URL, on: e.NOTIFY_ON },
    metricsAddress: e.METRICS_ADDRESS,
  };
}
