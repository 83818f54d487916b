/**
 * The keys of a backup inside a store: the same on every store (a local directory or a bucket).
 *   <database>/<id>.dump[.zst][.age]        the archive as stored
 *   <database>/<archive>.sha256             `sha256sum -c` sidecar of the stored bytes
 *   <database>/<id>.manifest.json           written last: the backup is complete
 *   <database>/<id>.facts.json              what the dump learnt, until the manifest replaces it
 *   <database>/<id>.drill.json              proof of the last successful restore drill
 *   <database>/<id>.pin.<run>.json          a restore or drill is reading this backup
 *   <database>/<id>.damaged.json            a restore, drill or copy run read the archive back damaged here
 *   .globals/globals-<stamp>-<hex>.sql[.age] (+ .sha256, .manifest.json): roles and tablespaces
 * A leading dot is never a valid pgkeeper database name, so `.globals` cannot collide with one.
 */
import { parseBackupId } from './backup-id.js';
import { archiveSuffix, type FilterStep } from './filters.js';
import { globalsCreatedAtMs } from './globals.js';

export const GLOBALS_FOLDER = '.globals';

export type KeyPart = 'manifest' | 'archive' | 'sidecar' | 'facts' | 'drill' | 'pin' | 'damage';

export interface BackupKeys {
  folder: string;
  archive: string;
  sidecar: string;
  manifest: string;
  facts: string;
  drillProof: string;
  damage: string;
  pin(pin: string): string;
}

/** Keys of backup `id` in `folder` (the database's name, or `.globals`), whose archive went through `filters`. */
export function backupKeys(folder: string, id: string, filters: FilterStep[]): BackupKeys {
  const base = `${folder}/${id}`;
  const archive = folder === GLOBALS_FOLDER ? `${base}.sql${archiveSuffix(filters).slice('.dump'.length)}` : `${base}${archiveSuffix(filters)}`;
  return {
    folder,
    archive,
    sidecar: sidecarKey(archive),
    manifest: `${base}.manifest.json`,
    facts: `${base}.facts.json`,
    drillProof: `${base}.drill.json`,
    damage: damageKey(folder, id),
    pin: (pin) => `${base}.pin.${pin}.json`,
  };
}

/** The `sha256sum -c` sidecar of an archive: beside it, its name plus `.sha256`. */
export function sidecarKey(archiveKey: string): string {
  return `${archiveKey}.sha256`;
}

/** Where a read that found the archive damaged records it (activities/store/damage-record.ts). */
export function damageKey(folder: string, id: string): string {
  return `${folder}/${id}.damaged.json`;
}

/**
 * When backup `id` of `folder` was made, from its id; undefined for an id that is not of that
 * folder (`app-…` found in `billing/`), which no listing takes for one of its backups.
 */
export function createdAtMsIn(folder: string, id: string): number | undefined {
  if (folder === GLOBALS_FOLDER) return globalsCreatedAtMs(id);
  try {
    const parsed = parseBackupId(id);
    return parsed.database === folder ? parsed.createdAtMs : undefined;
  } catch {
    return undefined;
  }
}

export function manifestKey(folder: string, id: string): string {
  return `${folder}/${id}.manifest.json`;
}

// [^] rather than `.`: a database name may hold U+2028 or U+2029, which `.` does not match.
const ID = String.raw`[^]+-\d{8}T\d{6}Z-[0-9a-f]{8}`;
const PARTS: [KeyPart, string][] = [
  ['manifest', String.raw`\.manifest\.json`],
  ['facts', String.raw`\.facts\.json`],
  ['drill', String.raw`\.drill\.json`],
  ['damage', String.raw`\.damaged\.json`],
  ['pin', String.raw`\.pin\.[A-Za-z0-9_-]+\.json`],
  ['sidecar', String.raw`\.(?:dump|sql)(?:\.zst|\.age)*\.sha256`],
  ['archive', String.raw`\.(?:dump|sql)(?:\.zst|\.age)*`],
];
const KEY = new RegExp(`^([^/]+)/(${ID})(${PARTS.map(([, p]) => `(?:${p})`).join('|')})$`);

export interface ClassifiedKey {
  folder: string;
  id: string;
  part: KeyPart;
  /** For pins: the run holding it. */
  pin?: string;
}

/** Which backup a key belongs to and what it is; undefined for anything that is not pgkeeper's. */
export function classifyKey(key: string): ClassifiedKey | undefined {
  const m = KEY.exec(key);
  if (!m) return undefined;
  const [, folder, id, suffix] = m as unknown as [string, string, string, string];
  const part = PARTS.find(([, p]) => new RegExp(`^${p}$`).test(suffix))![0];
  return { folder, id, part, ...(part === 'pin' ? { pin: /^\.pin\.(.+)\.json$/.exec(suffix)![1]! } : {}) };
}
