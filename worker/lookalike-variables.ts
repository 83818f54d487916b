/**
 * Variables set in the worker's environment that pgkeeper does not read but that look like one it
 * does: `ENCRYPT_RECIPIENT=age1…` would otherwise start a worker that stores every backup
 * unencrypted, saying only "encryption": "off". Warned about, not refused: an environment holds
 * other programs' variables too, so only names that share a first word with pgkeeper's, that extend
 * one, that name recipients or an age identity, or libpq's (PGHOST…) with pgkeeper's unset, are
 * looked at.
 */
import { CONFIG_VARIABLES, UP_PORT_VARIABLES } from '../common/config.js';
import { nearest } from '../common/input-fields.js';
import { TEMPORAL_SECURITY_VARIABLES } from '../common/temporal-security.js';

/** What may be meant; with those of `npm run up`, which the worker it starts inherits. */
const TAKEN = [...CONFIG_VARIABLES, ...TEMPORAL_SECURITY_VARIABLES.taken, ...UP_PORT_VARIABLES, 'TEMPORAL_CLI'];
/** Refused by name when set (temporal-security.ts): never suggested. */
const KNOWN = [...TAKEN, ...TEMPORAL_SECURITY_VARIABLES.refused];
const firstWord = (name: string) => name.split('_')[0]!;
const FIRST_WORDS = new Set(KNOWN.map(firstWord));

/** What Kubernetes (a Service named db: DB_SERVICE_HOST, DB_PORT_5432_TCP_ADDR) and Docker links inject. */
const SERVICE_LINK = /^[A-Z0-9_]+_(?:PORT_\d+_(?:TCP|UDP|SCTP)(?:_ADDR|_PORT|_PROTO)?|SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?|PORT)$/;

/** libpq's own variables, which pgkeeper does not read (its tools get DB_*): the one meant for each. */
const LIBPQ: Record<string, string> = { PGHOST: 'DB_HOST', PGPORT: 'DB_PORT', PGUSER: 'DB_USER', PGPASSWORD: 'DB_PASSWORD' };

/** The setting a name not pgkeeper's was meant as, by a rule a typo checker would miss. */
function meantBy(name: string): string | undefined {
  const upper = name.toUpperCase();
  if (upper !== name && KNOWN.includes(upper)) return upper; // names are case-sensitive
  // A known name with a path's or name's ending: ENCRYPT_RECIPIENTS_FILE, BACKUP_COPIES_DIR, DB_HOSTNAME
  // (not TEMPORAL_*: the Temporal CLI's own variables extend those, TEMPORAL_CLI_ADDRESS say).
  const extended = TAKEN.filter((known) => !known.startsWith('TEMPORAL_') && new RegExp(`^${known}_?(?:FILE|PATH|DIR|NAME|URL)S?$`).test(name))[0];
  if (extended) return extended;
  // Said another way: AGE_RECIPIENTS, ENCRYPTION_RECIPIENTS (not a mail or alert setting's); BACKUP_COPY.
  if (/^(?:AGE|ENCRYPT(?:ION)?|PGKEEPER|BACKUP)_.*RECIPIENT/.test(name)) return 'ENCRYPT_RECIPIENTS';
  if (/^(?:AGE|ENCRYPT(?:ION)?)_.*(?:IDENTITY|SECRET|PRIVATE)/.test(name)) return 'AGE_IDENTITY_FILE';
  return TAKEN.find((known) => known === `${name}S` || known === name.replace(/Y$/, 'IES'));
}

/** A variable set that pgkeeper does not read, and the one it was likely meant as (none: compression's). */
export interface Lookalike {
  name: string;
  meant?: string;
  warning: string;
}

/** Every lookalike in `env`: what it is not, and the variable meant (or where compression is chosen). */
export function lookalikes(env: Record<string, string | undefined>): Lookalike[] {
  const found: Lookalike[] = [];
  const meaning = (name: string, meant: string) => found.push({ name, meant, warning: `${name} is not a pgkeeper setting (ignored); did you mean ${meant}?` });
  for (const name of Object.keys(env).sort()) {
    if (KNOWN.includes(name) || env[name] === undefined || SERVICE_LINK.test(name)) continue;
    const libpq = LIBPQ[name];
    if (libpq !== undefined) {
      // Empty is unset, as configuration reads it (DB_PASSWORD= in an env file).
      if (!env[libpq]) found.push({ name, meant: libpq, warning: `${name} is not read by pgkeeper (ignored; its tools are given ${libpq}); did you mean ${libpq}?` });
      continue;
    }
    const ruled = meantBy(name);
    if (ruled) {
      meaning(name, ruled);
      continue;
    }
    if (/^(?:[A-Z]+_)?COMPRESS/.test(name) && (name.startsWith('COMPRESS') || FIRST_WORDS.has(firstWord(name)))) {
      found.push({ name, warning: `${name} is not a pgkeeper setting (ignored): compression is chosen per run, with --compression (backup, schedule create) or the workflow input's "compression"` });
      continue;
    }
    if (!FIRST_WORDS.has(firstWord(name))) continue;
    // A known name cut short (ENCRYPT_RECIPIENT, AGE_IDENTITY, DB_PASS), or one two typos away at most.
    const meant = (name.includes('_') ? TAKEN.find((known) => known.startsWith(name)) : undefined) ?? nearest(name, TAKEN, 2);
    if (meant) meaning(name, meant);
  }
  return found;
}

/** The worker's warnings at start: every lookalike, and encryption set but empty. */
export function lookalikeVariables(env: Record<string, string | undefined>): string[] {
  // Set but empty ("$KEY" unset): encryption was meant, and is off. Not refused: a compose file's
  // `${ENCRYPT_RECIPIENTS:-}` gives the same.
  const empty = env.ENCRYPT_RECIPIENTS === '' ? ['ENCRYPT_RECIPIENTS is set but empty: backups are stored unencrypted (give the keys, or unset it to say that is meant)'] : [];
  return [...empty, ...lookalikes(env).map((l) => l.warning)];
}

/** What the CLI reads of the environment: where Temporal is, and which worker (TASK_QUEUE). */
const CLI_VARIABLES = ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TASK_QUEUE', ...TEMPORAL_SECURITY_VARIABLES.taken];

/**
 * The CLI's warnings: lookalikes of the variables it reads, while the one meant is unset (the CLI
 * then talks to the default Temporal or queue, perhaps another server's, without a word).
 */
export function cliLookalikeVariables(env: Record<string, string | undefined>): string[] {
  return lookalikes(env)
    .filter((l) => l.meant !== undefined && CLI_VARIABLES.includes(l.meant) && !env[l.meant])
    .map((l) => l.warning);
}
