/**
 * Backup ids: `<database>-<yyyymmddThhmmssZ>-<8 hex>`. The time in the id orders backups even when
 * a manifest cannot be read (a damaged backup is still listed, at its place).
 */
import { InputError } from './errors.js';
import { quoteInput } from './input-fields.js';
import { validateDatabaseName } from './names.js';

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
// [^] rather than `.`: a database name may hold U+2028 or U+2029, which `.` does not match.
const BACKUP_ID = /^([^]+)-(\d{8}T\d{6}Z)-([0-9a-f]{8})$/;

export function formatUtcStamp(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // 2026-11-24T13:48:32.123Z
  return iso.slice(0, 19).replace(/[-:]/g, '') + 'Z';
}

export function parseUtcStamp(stamp: string): number | undefined {
  const m = STAMP.exec(stamp);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
}

/** 8 hex digits from a uuid4 (the workflow's deterministic `uuid4()`): unique enough within a second. */
export function shortId(uuid: string): string {
  return uuid.replace(/-/g, '').slice(0, 8).toLowerCase();
}

export function makeBackupId(database: string, startedAtMs: number, uuid: string): string {
  return `${database}-${formatUtcStamp(startedAtMs)}-${shortId(uuid)}`;
}

export interface ParsedBackupId {
  id: string;
  database: string;
  createdAtMs: number;
}

/** Parses and validates an id given by a user; rejects anything that could name a path. */
export function parseBackupId(id: unknown): ParsedBackupId {
  if (typeof id !== 'string' || id.length === 0) {
    throw new InputError('backup id is required, e.g. "app-20261124T020000Z-1a2b3c4d" (see `pgkeeper backups`)');
  }
  const m = BACKUP_ID.exec(id);
  const createdAtMs = m ? parseUtcStamp(m[2]!) : undefined;
  if (!m || createdAtMs === undefined) {
    throw new InputError(
      `backup id ${quoteInput(id)} is not of the form <database>-<yyyymmddThhmmssZ>-<8 hex digits>; list ids with \`pgkeeper backups\``,
    );
  }
  const database = validateDatabaseName(m[1], 'database part of the backup id');
  return { id, database, createdAtMs };
}
