/**
 * Turns errors from PostgreSQL, the pg tools and the file system into ApplicationFailures with
 * one clear message that names the problem and the fix, and a type that says whether a retry
 * can help. Every message passes through `redact` so the password never reaches history or logs.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../common/config.js';
import { FailureType, InputError } from '../common/errors.js';
import { quoteIdent } from '../common/sql.js';

/** The last lines of a tool's stderr, on one line, for a failure message. */
export function stderrTail(stderr: string, lines = 3): string {
  return stderr.trim().split('\n').slice(-lines).join(' | ');
}

/** Below this length a password is replaced only where it stands alone, not inside words. */
const SHORT_SECRET = 8;

/**
 * Removes the password from a message. A short password (say "pg") would otherwise turn every
 * "pg_dump" into "***_dump": it is replaced only where it stands as a word of its own.
 */
export function redact(config: Config, text: string): string {
  const secret = config.db.password;
  if (!secret) return text;
  if (secret.length >= SHORT_SECRET) return text.split(secret).join('***');
  const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.replace(new RegExp(`(?<![\\p{L}\\p{N}_])${escaped}(?![\\p{L}\\p{N}_])`, 'gu'), '***');
}

function fail(config: Config, type: FailureType, message: string, retryable: boolean): ApplicationFailure {
  const safe = redact(config, message);
  return retryable ? ApplicationFailure.retryable(safe, type) : ApplicationFailure.nonRetryable(safe, type);
}

export function failure(config: Config, type: FailureType, message: string): ApplicationFailure {
  return fail(config, type, message, false);
}

/**
 * A refusal whose fix is a change of the run's input: `message` says it in flags and JSON fields
 * alike (the UI shows it); `problem`, the message without that fix, travels in the details, so the
 * CLI says the fix once, in its own flags (client/cli-surface.ts cliHint).
 */
export function refusal(config: Config, type: FailureType, message: string, problem: string): ApplicationFailure {
  return ApplicationFailure.create({ message: redact(config, message), type, nonRetryable: true, details: [{ problem: redact(config, problem) }] });
}

function server(config: Config): string {
  return `${config.db.host}:${config.db.port}`;
}

function authenticationFailed(config: Config, detail: string): ApplicationFailure {
  return fail(
    config,
    FailureType.AuthenticationFailed,
    `authentication failed for user "${config.db.user}" on ${server(config)} (${detail}); ` +
      'check DB_USER and DB_PASSWORD (or PGPASSFILE) in the worker environment',
    false,
  );
}

/**
 * The server refused DB_USER a connection or a statement (SQLSTATE 42501, or a pg tool's FATAL/ERROR
 * "permission denied"): a grant is a person's fix, so never retried. `refusal` is the server's words.
 */
function permissionDenied(config: Config, doing: string, refusal: string, grant: string): ApplicationFailure {
  return fail(config, FailureType.PermissionDenied, `DB_USER "${config.db.user}" may not ${doing} on ${server(config)} (${refusal}): ${grant}`, false);
}

/**
 * What was refused and the grant that answers it, for the refusals the server words alike for
 * every client and no wait lifts: a connection (its quoted form; the unquoted one is a CREATE or
 * TEMP privilege) and creating a database.
 */
function grantFor(config: Config, refusal: string): { doing: string; grant: string } | undefined {
  const database = /^permission denied for database "([^]*)"$/.exec(refusal);
  if (database) {
    return {
      doing: `connect to database "${database[1]}"`,
      grant: `grant it CONNECT (GRANT CONNECT ON DATABASE ${quoteIdent(database[1]!)} TO ${quoteIdent(config.db.user)}), or run the worker as a superuser`,
    };
  }
  if (/^permission denied to create database/.test(refusal)) return { doing: 'create databases', grant: `let it create databases (ALTER ROLE ${quoteIdent(config.db.user)} CREATEDB), or run the worker as a superuser` };
  return undefined;
}

/** A server that turns this worker away before any password is asked (pg_hba.conf), which no retry changes. */
function hostRejected(config: Config, detail: string): ApplicationFailure {
  return fail(
    config,
    FailureType.AuthenticationFailed,
    `the server at ${server(config)} turns away DB_USER "${config.db.user}" from this worker's address (${detail}); ` +
      'allow it in pg_hba.conf on the server (then reload the server), or check DB_HOST and DB_USER',
    false,
  );
}

/** A signal's likely cause, for a tool it killed. */
const SIGNAL_CAUSES: Record<string, string> = {
  SIGKILL: 'out of memory?', // the OOM killer's
  SIGINT: "a Ctrl-C in the worker's terminal reaches its tools too",
  SIGPIPE: 'what it wrote to went away',
  SIGSEGV: 'it crashed',
  SIGBUS: 'it crashed',
  SIGABRT: 'it crashed',
  SIGILL: 'it crashed',
  SIGFPE: 'it crashed',
};

/** `${what} was killed by ${signal}`, with its likely cause. */
export function killedBy(what: string, signal: string): string {
  return `${what} was killed by ${signal} (${SIGNAL_CAUSES[signal] ?? 'sent from outside pgkeeper'})`;
}

/**
 * A backup only a newer pgkeeper reads (`reason` says which version or filter): not damage, so the
 * fix comes first (upgrade), then `older`, the other choice, when there is one.
 */
export function needsNewerPgkeeper(subject: string, reason: string, older?: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${subject} was ${reason}${older ? `; or ${older}` : ''}`, FailureType.UnknownFilter);
}

/** `meant`: a database of the server the name is likely a typo of, with why, when one was found. */
export function databaseMissing(config: Config, database: string, meant?: string): ApplicationFailure {
  return fail(
    config,
    FailureType.DatabaseMissing,
    `database "${database}" does not exist on ${server(config)}; ${meant !== undefined ? `did you mean ${meant}?` : 'check the name'} (psql -l lists databases)`,
    false,
  );
}

export function diskFull(config: Config, where: string): ApplicationFailure {
  return fail(config, FailureType.DiskFull, `no space left on device while writing ${where}; free space there, or point SCRATCH_DIR (restores) or the store at a larger disk`, false);
}

/** Classifies a pg tool that exited non-zero, from its stderr. */
export function toolFailure(
  config: Config,
  tool: string,
  purpose: string,
  stderr: string,
  exitCode: number | undefined,
  spawnErrorCode?: string,
): ApplicationFailure {
  if (spawnErrorCode === 'ENOENT') {
    return fail(
      config,
      FailureType.InvalidInput,
      `${tool} was not found; install the PostgreSQL client tools or set PG_BIN_DIR to their directory`,
      false,
    );
  }
  const text = stderr.trim();
  const lastLines = stderrTail(text, 5);
  // Connection-time failures only (FATAL): a pg_restore ERROR about a missing role is not a login problem.
  // [^] rather than `.`: a name may hold U+2028 or U+2029, which `.` does not match.
  const turnedAway = /FATAL: +((?:no pg_hba\.conf entry|pg_hba\.conf rejects connection)[^\n]*?)(?= \| |\n|$)/.exec(text);
  if (turnedAway) return hostRejected(config, turnedAway[1]!.trim());
  if (/FATAL: [^]*?(password authentication failed|no password supplied|authentication failed|role "[^]*?" does not exist)/.test(text)) {
    return authenticationFailed(config, lastLines);
  }
  const role = /ERROR: +role "([^]*?)" does not exist/.exec(text);
  if (role) {
    const problem = `role "${role[1]}" does not exist on ${server(config)}`;
    return refusal(config, FailureType.RolesMissing, `${problem}; create it (or restore a globals backup first), or restore with --no-owner --no-privileges ("noOwner", "noPrivileges")`, problem);
  }
  // A pg tool's own words for a SIGINT or SIGTERM sent to it: a terminal's Ctrl-C reaches the worker's
  // tools too (the whole foreground process group), so a worker stopped on purpose must not fail the run.
  if (/terminated by user/.test(text)) {
    return fail(config, FailureType.PgToolKilled, `${tool} was stopped by a signal sent to it (a Ctrl-C in the worker's terminal reaches its tools too) while trying to ${purpose}; retried`, true);
  }
  const missing = /database "([^]*?)" does not exist/.exec(text);
  if (missing) return databaseMissing(config, missing[1]!);
  // Retrying cannot help: a grant is a person's fix.
  // Up to the end of its line (a stream tool's stderr comes joined with " | ").
  // FATAL too: a database DB_USER may not connect to is refused at login, before any statement.
  const denied = /(?:ERROR|FATAL): +(permission denied[^\n]*?)(?= \| |\n|$)/.exec(text);
  if (denied) {
    const refusal = denied[1]!.trim();
    const known = grantFor(config, refusal);
    if (known) return permissionDenied(config, known.doing, refusal, known.grant);
    const grant = /^pg_dump/.test(tool)
      ? 'grant it pg_read_all_data (PostgreSQL 14 and later), or run the worker as a superuser'
      : `run the worker as a superuser, or grant DB_USER what it names${tool === 'pg_restore' ? ' (or restore with --no-owner --no-privileges)' : ''}`;
    return permissionDenied(config, purpose, refusal, grant);
  }
  if (/server version mismatch/.test(text)) {
    return fail(
      config,
      FailureType.PgToolTooOld,
      `${tool} is older than the server (${lastLines}); install the client tools of the server's major version or set PG_BIN_DIR to them`,
      false,
    );
  }
  if (/No space left on device/i.test(text)) return diskFull(config, purpose);
  return fail(
    config,
    FailureType.PgToolFailed,
    `${tool} failed to ${purpose} (exit code ${exitCode ?? 'none'}): ${lastLines || 'no message'}`,
    true,
  );
}

/** Classifies an error of the `pg` client library (connection or query). */
export function pgClientFailure(config: Config, database: string, err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = err as { code?: string; message?: string };
  if (e.code === '28000' && /pg_hba\.conf/.test(e.message ?? '')) return hostRejected(config, e.message!);
  if (e.code === '28P01' || e.code === '28000') return authenticationFailed(config, e.message ?? e.code);
  // A grant is a person's fix: final, but for a session the swap may not end (another role's, a
  // superuser's: "must be a superuser to terminate superuser process", or in 16 "permission denied
  // to terminate process"), which may end on its own while a patient swap waits.
  if (e.code === '42501' && !/terminat/.test(e.message ?? '')) {
    const refusal = e.message ?? 'permission denied';
    const known = grantFor(config, refusal);
    return permissionDenied(config, known?.doing ?? `work in database "${database}"`, refusal, known?.grant ?? 'run the worker as a superuser, or grant DB_USER what it names');
  }
  // node-postgres itself, when the server asks for a password and none is configured (no SQLSTATE).
  if (/client password must be a string/.test(e.message ?? '')) return authenticationFailed(config, 'the server asks for a password and none is configured');
  if (e.code === '3D000') return databaseMissing(config, database);
  if (e.code === '55000' && /not currently accepting connections/.test(e.message ?? '')) {
    return fail(
      config,
      FailureType.ConnectionsNotAllowed,
      `database "${database}" does not accept connections (ALLOW_CONNECTIONS false); allow them, or leave it out of the backup`,
      false,
    );
  }
  // SQLSTATE class 08 (connection exception), 57P (operator intervention: shutdown, restart) or no
  // SQLSTATE at all (a network error): the server may come back.
  if (!e.code || /^(08|57P)/.test(e.code) || /^E[A-Z]+$/.test(e.code)) {
    return fail(config, FailureType.DatabaseUnreachable, `cannot reach database "${database}" on ${server(config)}: ${e.message ?? String(err)}`, true);
  }
  return fail(config, FailureType.DatabaseError, `PostgreSQL refused on database "${database}": ${e.message} (SQLSTATE ${e.code})`, true);
}

export function isNoSpaceError(err: unknown): boolean {
  return (err as { code?: string })?.code === 'ENOSPC';
}

/** Validation errors raised inside an activity are final: the same input fails the same way. */
export async function rejectingInput<T>(config: Config, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof InputError) throw failure(config, FailureType.InvalidInput, err.message);
    throw err;
  }
}
