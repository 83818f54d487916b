/**
 * Validation of names that come from workflow input or the CLI: database names and backup ids.
 * Pure functions, no Node imports: used by workflows, activities and the CLI alike.
 */
import { InputError } from './errors.js';
import { nearest, quoteInput } from './input-fields.js';

/** PostgreSQL truncates identifiers longer than NAMEDATALEN - 1 bytes; we refuse them instead. */
export const MAX_IDENTIFIER_BYTES = 63;

export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/**
 * A database name is accepted when PostgreSQL can hold it unchanged and it is safe as a
 * directory name under BACKUP_DIR. Quotes, semicolons and spaces are allowed: names are always
 * quoted as identifiers in SQL and passed as conninfo values to the pg tools, never spliced.
 * `reserveBytes` leaves room for a suffix the caller will append (e.g. a staging suffix).
 */
export function validateDatabaseName(name: unknown, field = 'database', reserveBytes = 0): string {
  if (name === undefined || name === null || name === '') {
    throw new InputError(`${field} is required: give the name of a PostgreSQL database, e.g. "app"`);
  }
  if (typeof name !== 'string') {
    throw new InputError(`${field} must be a string, the name of a PostgreSQL database such as "app"; got ${quoteInput(name)}`);
  }
  const limit = MAX_IDENTIFIER_BYTES - reserveBytes;
  const bytes = utf8Length(name);
  if (bytes > limit) {
    throw new InputError(
      `${field} ${quoteInput(name)} is ${bytes} bytes; PostgreSQL names are at most ${MAX_IDENTIFIER_BYTES} bytes` +
        (reserveBytes > 0 ? ` and pgkeeper needs ${reserveBytes} of them for its own suffix, so use at most ${limit}` : ''),
    );
  }
  // Control characters cannot be typed safely, break log lines, and NUL is refused by PostgreSQL.
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    throw new InputError(`${field} contains a control character; use printable characters only`);
  }
  // The name is a directory under BACKUP_DIR: it must not be a path.
  if (name.includes('/') || name.includes('\\')) {
    throw new InputError(`${field} ${quoteInput(name)} contains a slash; PostgreSQL allows "/" and "\\" in names, pgkeeper does not (each database's backups are kept in a folder named after it): choose another name, or rename the database (ALTER DATABASE … RENAME TO …)`);
  }
  if (name.startsWith('.')) {
    throw new InputError(`${field} ${quoteInput(name)} starts with a dot; pgkeeper refuses such names because they would be hidden or relative paths on disk`);
  }
  if (name !== name.trim()) {
    throw new InputError(`${field} ${quoteInput(name)} starts or ends with white space; remove it`);
  }
  return name;
}

/**
 * Refuses a new backup of a database whose name holds U+FFFE or U+FFFF: Unicode noncharacters that
 * XML 1.0 cannot carry, so an S3 server lists such a key changed (versitygw as U+FFFD; AWS encodes
 * it only when asked to, and versitygw ignores the asking) and the backup would be written and
 * never found. Only new backups: one already in a store (a file store lists it fine) still lists,
 * restores and is pruned.
 */
export function refuseUnlistableName(name: string): void {
  const found = /[\uFFFE\uFFFF]/.exec(name)?.[0];
  if (found) {
    throw new InputError(
      `database ${quoteInput(name)} holds U+${found.codePointAt(0)!.toString(16).toUpperCase()}, a Unicode noncharacter that S3 listings (XML) return changed, so its backups could not be found again; rename the database (ALTER DATABASE … RENAME TO …) to back it up`,
    );
  }
}

/** Whether `name` is one pgkeeper accepts as a database name (validateDatabaseName, without the message). */
export function isDatabaseName(name: string): boolean {
  try {
    validateDatabaseName(name);
    return true;
  } catch {
    return false;
  }
}

/** Fixed workflow id per database, so Temporal itself refuses two concurrent operations on one database. */
export function databaseWorkflowId(taskQueue: string, database: string): string {
  return `pgkeeper:${taskQueue}:${database}`;
}

/**
 * For a database of which no store holds a backup: the one meant, when the stores hold backups of
 * a name close to it (a typo is likelier than a database never backed up), and what they hold;
 * '' when they hold none. Starts with "did you mean", or "backups there are of".
 */
export function otherDatabasesNote(database: string, held: readonly string[]): string {
  const others = held.filter((name) => name !== database);
  if (others.length === 0) return '';
  const meant = nearest(database, others);
  return meant !== undefined ? `did you mean "${meant}"? (backups there are of ${listedNames(others)})` : `backups there are of ${listedNames(others)}`;
}

/** Database names for a message: quoted, the first 20, and how many in all when there are more. */
export function listedNames(names: string[]): string {
  if (names.length === 0) return 'none';
  // As JSON strings: a name may hold a line break or a tab (PostgreSQL allows them) and must not break the line.
  const listed = names.slice(0, 20).map((db) => JSON.stringify(db)).join(', ');
  return names.length > 20 ? `${listed}, … (${names.length} in all)` : listed;
}
