/**
 * Globals backups: roles, role memberships and tablespaces (`pg_dumpall --globals-only`), which
 * pg_dump leaves out. They live in the store's `.globals` folder (see backup-keys.ts).
 */
import { formatUtcStamp, parseUtcStamp, shortId } from './backup-id.js';
import { InputError } from './errors.js';
import { jsonSurface, quoteInput, type InputSurface } from './input-fields.js';

const GLOBALS_ID = /^globals-(\d{8}T\d{6}Z)-[0-9a-f]{8}$/;

export function makeGlobalsId(startedAtMs: number, uuid: string): string {
  return `globals-${formatUtcStamp(startedAtMs)}-${shortId(uuid)}`;
}

export function isGlobalsId(id: string): boolean {
  return GLOBALS_ID.test(id);
}

/** When a globals backup was made, from its id; undefined for anything else. */
export function globalsCreatedAtMs(id: string): number | undefined {
  const m = GLOBALS_ID.exec(id);
  return m ? parseUtcStamp(m[1]!) : undefined;
}

export function validateGlobalsId(id: unknown, surface: InputSurface = jsonSurface): string {
  if (id === 'latest') return id;
  if (typeof id !== 'string' || !GLOBALS_ID.test(id)) {
    throw new InputError(`${surface.field('globals')} must be "latest" or a globals backup id like "globals-20261124T020000Z-1a2b3c4d"; got ${quoteInput(id)}`);
  }
  return id;
}
