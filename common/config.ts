/**
 * Configuration of the worker and the CLI, read from the environment and validated with zod.
 * Pure: takes the environment as an argument, so tests can pass their own.
 * The variable names of the original backup.sh/restore.sh (DB_HOST, DB_PORT, DB_USER, DB_PASSWORD) are kept.
 */
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { checkStoresApart, parseStoreUrl, type StoreSpec } from './store-url.js';

export { ConfigError };
import { parseTemporalSecurity, type TemporalSecurity } from './temporal-security.js';

/** The task queue when TASK_QUEUE (or --queue) is not set: a command for another queue must name it. */
export const DEFAULT_TASK_QUEUE = 'pgkeeper';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

const port = (name: string) =>
  z
    .string()
    .trim()
    // Digits only, as RETENTION_DAYS: Number() would take 0x1538, 1e3 and 5432.0 for ports.
    .regex(/^\d+$/, { error: `${name} must be a port number from 1 to 65535` })
    .transform(Number)
    .pipe(z.number().min(1, { error: `${name} must be a port number from 1 to 65535` }).max(65535, { error: `${name} must be a port number from 1 to 65535` }));

const nonEmpty = (name: string, example: string) =>
  z.string().trim().min(1, { error: `${name} must not be empty (e.g. ${example})` });

function portInRange(address: string): boolean {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return port >= 1 && port <= 65_535;
}

const envSchema = z.object({
  DB_HOST: nonEmpty('DB_HOST', '127.0.0.1')
    // host:port or a URL would reach the tools as a host name that does not resolve, at the first backup.
    .refine((host) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(host), { error: 'DB_HOST must be a host name, an address or a socket directory, not a URL (e.g. 127.0.0.1; the port goes in DB_PORT)' })
    // A socket directory (an absolute path) may end in anything; a bracketed IPv6 address is not a host libpq reads.
    .refine((host) => host.startsWith('/') || !/^(\[[^\]]*\]|[^:]+):\d+$/.test(host), { error: 'DB_HOST must not hold a port: put the host in DB_HOST (e.g. 127.0.0.1) and the port in DB_PORT' })
    .refine((host) => !/^\[[^\]]*\]$/.test(host), { error: 'DB_HOST takes an IPv6 address without brackets (e.g. ::1)' })
    // What is left must look like a name, an address or an absolute socket directory.
    .refine((host) => host.startsWith('/') || /^[A-Za-z0-9._%-]+$|^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(%[\w.-]+)?$/.test(host), {
      error: 'DB_HOST must be a host name (db.example.com), an address (10.0.0.5, ::1) or an absolute socket directory (/var/run/postgresql)',
    })
    .default('127.0.0.1'),
  DB_PORT: port('DB_PORT').default(5432),
  DB_USER: nonEmpty('DB_USER', 'postgres').default('postgres'),
  DB_PASSWORD: z.string().optional(),
  BACKUP_DIR: nonEmpty('BACKUP_DIR', '/var/backups/pgkeeper').optional(),
  BACKUP_STORE: nonEmpty('BACKUP_STORE', 's3://bucket/prefix or file:///var/backups/pgkeeper').optional(),
  BACKUP_COPIES: z.string().optional(),
  SCRATCH_DIR: nonEmpty('SCRATCH_DIR', '/var/tmp').optional(),
  ENCRYPT_RECIPIENTS: z.string().optional(),
  AGE_IDENTITY_FILE: nonEmpty('AGE_IDENTITY_FILE', '/etc/pgkeeper/age-identity.txt').optional(),
  RETENTION_DAYS: z
    .string()
    .regex(/^\s*\d+\s*$/, { error: 'RETENTION_DAYS must be a whole number of days, at least 1 (e.g. 7)' }) // not 1e3, 0x10 nor blanks
    .pipe(z.coerce.number())
    .pipe(z.number()
    .int({ error: 'RETENTION_DAYS must be a whole number of days, at least 1 (e.g. 7)' })
    .min(1, { error: 'RETENTION_DAYS must be at least 1: the newest backup is always kept, so 0 days would mean nothing' }))
    .default(7),
  TEMPORAL_ADDRESS: z
    .string()
    // host:port, or [IPv6 address]:port
    .regex(/^(?:[^\s:\[\]]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/, { error: 'TEMPORAL_ADDRESS must be host:port (e.g. 127.0.0.1:7233, or [::1]:7233)' })
    .refine(portInRange, { error: 'TEMPORAL_ADDRESS: the port must be 1 to 65535 (e.g. 127.0.0.1:7233)' })
    .default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: nonEmpty('TEMPORAL_NAMESPACE', 'default').default('default'),
  TASK_QUEUE: nonEmpty('TASK_QUEUE', DEFAULT_TASK_QUEUE).default(DEFAULT_TASK_QUEUE),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })
    .default('info'),
  TEMPORAL_UI_URL: z.url({ error: 'TEMPORAL_UI_URL must be a URL such as http://127.0.0.1:8233' }).optional(),
  PG_BIN_DIR: z.string().trim().min(1).optional(),
  NOTIFY_WEBHOOK_URL: z.url({ error: 'NOTIFY_WEBHOOK_URL must be an http(s) URL (a Slack incoming webhook works)' }).optional(),
  NOTIFY_ON: z.enum(['failure', 'always'], { error: 'NOTIFY_ON must be "failure" or "always"' }).default('failure'),
  METRICS_ADDRESS: z
    .string()
    // The metrics server binds it: an address, not a name (localhost is refused by the core).
    .regex(/^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d{1,5}$/, { error: 'METRICS_ADDRESS must be an IP address and port to listen on (e.g. 0.0.0.0:9464, 127.0.0.1:9464 or [::]:9464)' })
    .refine(portInRange, { error: 'METRICS_ADDRESS: the port must be 1 to 65535 (e.g. 0.0.0.0:9464)' })
    .optional(),
});

export type LogLevel = (typeof LOG_LEVELS)[number];

/** The variables parseConfig reads (Temporal's security ones are in temporal-security.ts). */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape);

/**
 * Read by `npm run up` (scripts/up.ts) alone: where its dev server listens. The worker it starts
 * inherits them, and TEMPORAL_CLI (the Temporal CLI's path, exported by scripts/ensure-deps.sh).
 */
export const UP_PORT_VARIABLES = ['TEMPORAL_PORT', 'TEMPORAL_UI_PORT'] as const;

/** age recipients (public keys) named in the environment, or the file that lists them (read by the worker at start). */
export type RecipientsSetting = { keys: string[] } | { file: string };

export interface Config {
  db: { host: string; port: number; user: string; password: string | undefined };
  /** Where backups are written (BACKUP_STORE, or BACKUP_DIR as a local store), and the further stores that get verified copies. */
  stores: { primary: StoreSpec; copies: StoreSpec[] };
  /** Where a restore puts the archive for pg_restore -j (a seekable file); undefined: the OS temp directory. */
  scratchDir: string | undefined;
  encryption: { recipients: RecipientsSetting | undefined; identityFile: string | undefined };
  retentionDays: number;
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string; security: TemporalSecurity };
  logLevel: LogLevel;
  pgBinDir: string | undefined;
  notify: { webhookUrl: string | undefined; on: 'failure' | 'always' };
  /** Where the worker serves Prometheus metrics; unset: not served. */
  metricsAddress: string | undefined;
}

const DEFAULT_BACKUP_DIR = '.data/backups';
/** age's X25519 recipients: "age1" and 58 bech32 characters. */
export const AGE_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

/**
 * A recipient as age-keygen prints it: bech32 is read in either case (age takes AGE1… too), and
 * the lower-case form is what an identity's public key is compared with.
 */
export const recipientKey = (token: string) => (/^age1/i.test(token) ? token.toLowerCase() : token);
/**
 * Whether `text` holds an age private key where public keys belong: said without echoing any of it.
 * Anywhere in it, not only as a word of its own: a key pasted in quotes or after `key=` is one too.
 */
export function privateKeyIn(text: string): boolean {
  return /AGE-SECRET-KEY-/i.test(text);
}

/** The message for a private key given as a recipient (the backup worker must never hold one). */
export function privateKeyAsRecipient(where: string): string {
  return `${where} holds an age private key (AGE-SECRET-KEY-…), where only public keys (age1…) belong: give the public key (\`age-keygen -y <identity file>\` prints it) and keep the private key off the worker that backs up`;
}

function parseStores(e: { BACKUP_DIR?: string; BACKUP_STORE?: string; BACKUP_COPIES?: string }, resolvePath: (p: string) => string): Config['stores'] {
  if (e.BACKUP_DIR !== undefined && e.BACKUP_STORE !== undefined) {
    throw new ConfigError('invalid configuration: set BACKUP_STORE or BACKUP_DIR, not both (BACKUP_DIR=/x is the same as BACKUP_STORE=file:///x)');
  }
  const primary =
    e.BACKUP_STORE !== undefined
      ? parseStoreUrl(e.BACKUP_STORE, 'BACKUP_STORE', resolvePath)
      : e.BACKUP_DIR !== undefined
        ? parseStoreUrl(e.BACKUP_DIR, 'BACKUP_DIR', resolvePath)
        : { ...parseStoreUrl(DEFAULT_BACKUP_DIR, 'BACKUP_DIR', resolvePath), madeByPgkeeper: true };
  // Commas between stores, or blanks before a store's start (s3://, file://, /, ./): a directory's
  // name may hold a space ("/mnt/Off Site" is one store).
  const copies = (e.BACKUP_COPIES ?? '')
    .split(/,|\s+(?=(?:s3|file):\/\/|\.{0,2}\/)/)
    .map((url) => url.trim())
    .filter(Boolean)
    .map((url) => {
      // "copy1 copy2": two relative directories meant, or one named so? Said, not guessed.
      if (/\s/.test(url) && !/^(?:[a-z0-9+.-]+:\/\/|\/)/i.test(url)) {
        throw new ConfigError(`invalid configuration: BACKUP_COPIES: ${JSON.stringify(url)}: separate stores with commas, and give a directory whose name holds a space as an absolute path`);
      }
      return url;
    })
    .map((url) => parseStoreUrl(url, 'BACKUP_COPIES', resolvePath));
  checkStoresApart([primary, ...copies]);
  return { primary, copies };
}

function parseRecipients(value: string | undefined, resolvePath: (p: string) => string): RecipientsSetting | undefined {
  // Empty is unset (a compose file's `${ENCRYPT_RECIPIENTS:-}`); blanks alone are refused below.
  if (value === undefined || value === '') return undefined;
  const tokens = value.split(/[\s,]+/).filter(Boolean).map(recipientKey);
  if (privateKeyIn(value)) throw new ConfigError(`invalid configuration: ${privateKeyAsRecipient('ENCRYPT_RECIPIENTS')}`);
  // "$KEY1,$KEY2" or "$KEY1 $KEY2" with both unset: encryption was meant, and would silently be off.
  if (tokens.length === 0) throw new ConfigError(`invalid configuration: ENCRYPT_RECIPIENTS is ${JSON.stringify(value)}, which lists no key: give age public keys (age1…) or the path of a file listing them, or unset it to store backups unencrypted`);
  if (tokens.every((t) => t.startsWith('age1'))) {
    const bad = tokens.find((t) => !AGE_RECIPIENT.test(t));
    if (bad) throw new ConfigError(`invalid configuration: ENCRYPT_RECIPIENTS: "${bad.slice(0, 20)}…" is not an age public key (age1 followed by 58 characters, as age-keygen prints)`);
    return { keys: tokens };
  }
  if (tokens[0]!.startsWith('ssh-')) {
    throw new ConfigError('invalid configuration: ENCRYPT_RECIPIENTS: pgkeeper takes age X25519 public keys (age1…), not ssh keys; make a key pair with age-keygen');
  }
  if (tokens.length === 1) return { file: resolvePath(tokens[0]!) };
  // One path with a space in it (keys are listed with commas, or are age1… every one).
  if (!value.includes(',') && !tokens.some((t) => t.startsWith('age1'))) return { file: resolvePath(value.trim()) };
  throw new ConfigError('invalid configuration: ENCRYPT_RECIPIENTS must be age public keys (age1…, separated by commas or spaces) or the path of a file listing them');
}

/**
 * A setting's value for a message, or why it is not shown: a private key, a PEM block or a URL's
 * password (a pasted value where a name or path belongs) never reaches a log.
 */
export function shownValue(value: string): string {
  return holdsSecret(value) ? '(not shown: it holds a key or a password)' : JSON.stringify(value);
}

export function holdsSecret(value: string): boolean {
  return privateKeyIn(value) || /-----BEGIN|PRIVATE KEY/i.test(value) || /\/\/[^/@\s]*:[^/@\s]*@|^[^/@\s:]+:[^/@\s]+@/.test(value);
}

/** AGE_IDENTITY_FILE, refused (never echoed) when it holds a private key itself, where its file's path belongs. */
function identityPath(value: string): string {
  if (privateKeyIn(value)) {
    throw new ConfigError('invalid configuration: AGE_IDENTITY_FILE holds an age private key itself (not shown), where the path of a file holding it belongs: write the key to a file readable by the worker only (chmod 600) and point AGE_IDENTITY_FILE at it');
  }
  return value;
}

/**
 * Validates the environment. Throws a ConfigError whose message is one line naming the variable,
 * what it expects and what it got (never the value of DB_PASSWORD).
 * `resolvePath` makes paths absolute; it is injected because this module has no Node imports.
 */
export function parseConfig(
  env: Record<string, string | undefined>,
  resolvePath: (p: string) => string = (p) => p,
): Config {
  // Where a value was meant to be filled in ("$MOUNT" unset), the default is no answer: another
  // directory, or the queue of another server's worker.
  const defaults: Record<string, string> = {
    BACKUP_DIR: "the default store, .data/backups in the worker's working directory",
    BACKUP_STORE: env.BACKUP_DIR ? 'the store BACKUP_DIR names' : "the default store, .data/backups in the worker's working directory",
    TASK_QUEUE: 'the default queue, pgkeeper',
    DB_HOST: 'the default, 127.0.0.1',
    TEMPORAL_ADDRESS: 'the default, 127.0.0.1:7233',
    TEMPORAL_NAMESPACE: 'the default namespace',
  };
  for (const [name, fallback] of Object.entries(defaults)) {
    if (env[name] === '') throw new ConfigError(`invalid configuration: ${name} is set but empty (a variable left unfilled where it is set?): give its value, or unset ${name} for ${fallback}`);
  }
  // Any other empty variable is treated as unset, as a shell script would (`DB_PORT= pgkeeper ...`).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    // Secrets are never echoed: a password, or a webhook URL that embeds a token.
    const got = name === 'DB_PASSWORD' || name === 'NOTIFY_WEBHOOK_URL' ? '' : ` (got ${shownValue(String(cleaned[name]))})`;
    throw new ConfigError(`invalid configuration: ${issue.message}${got}`);
  }
  const e = parsed.data;
  return {
    db: { host: e.DB_HOST, port: e.DB_PORT, user: e.DB_USER, password: e.DB_PASSWORD },
    stores: parseStores(e, resolvePath),
    scratchDir: e.SCRATCH_DIR === undefined ? undefined : resolvePath(e.SCRATCH_DIR),
    encryption: {
      recipients: parseRecipients(e.ENCRYPT_RECIPIENTS, resolvePath),
      identityFile: e.AGE_IDENTITY_FILE === undefined ? undefined : resolvePath(identityPath(e.AGE_IDENTITY_FILE)),
    },
    retentionDays: e.RETENTION_DAYS,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TASK_QUEUE,
      // The dev server serves its UI on port 8233 of the same host.
      uiUrl: (e.TEMPORAL_UI_URL ?? `http://${e.TEMPORAL_ADDRESS.replace(/:\d+$/, '')}:8233`).replace(/\/$/, ''),
      // TLS, mTLS and API key variables (file paths and flags only; never a key).
      security: parseTemporalSecurity(env),
    },
    logLevel: e.LOG_LEVEL,
    pgBinDir: e.PG_BIN_DIR,
    notify: { webhookUrl: e.NOTIFY_WEBHOOK_URL, on: e.NOTIFY_ON },
    metricsAddress: e.METRICS_ADDRESS,
  };
}
