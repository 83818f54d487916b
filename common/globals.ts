/**
 * Globals backups (roles, role memberships, tablespaces from `pg_dumpall --globals-only`) live in
 * `$BACKUP_DIR/.globals/`: a leading dot is never a valid pgkeeper database name, so no database
 * directory can collide with it.
 */
import { formatUtcStamp, shortId } from './backup-id.js';
import { InputError } from './errors.js';

export const GLOBALS_DIR = '.globals';
const GLOBALS_ID = /^globals-\d{8}T\d{6}Z-[0-9a-f]{8}$/;

export function makeGlobalsId(startedAtMs: number, uuid: string): string {
  return `globals-${formatUtcStamp(startedAtMs)}-${shortId(uuid)}`;
}

export function validateGlobalsId(id: unknown): string {
  if (id === 'latest') return id;
  if (typeof id !== 'string' || !GLOBALS_ID.test(id)) {
    throw new InputError(`globals must be "latest" or a globals backup id like "globals-20261124T020000Z-1a2b3c4d"; got ${JSON.stringify(id)}`);
  }
  return id;
}

export function globalsFileNames(id: string) {
  return { script: `${id}.sql`, checksum: `${id}.sql.sha256`, manifest: `${id}.manifest.json` };
}

export interface GlobalsManifest {
  manifestVersion: 1;
  kind: 'globals';
  id: string;
  file: string;
  sizeBytes: number;
  sha256: string;
  pgDumpallVersion: string;
  startedAt: string;
  finishedAt: string;
  roles: number;
}
