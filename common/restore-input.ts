/**
 * Validation and defaults of restoreDatabase input. The short form is safe:
 * `mode` defaults to "create" (the target must not exist); "replace" needs `confirm` equal to the target.
 */
import { shortId } from './backup-id.js';
import { InputError } from './errors.js';
import { validateGlobalsId } from './globals.js';
import { utf8Length, validateDatabaseName } from './names.js';

export type RestoreMode = 'create' | 'replace';

export interface RestoreInput {
  /** A backup id, "latest" (with `database`), or the path of an archive inside BACKUP_DIR. */
  backup: string;
  /** Whose newest backup "latest" means. */
  database?: string;
  /** The database to restore into. */
  target: string;
  mode?: RestoreMode;
  /** Must equal `target` when mode is "replace". */
  confirm?: string;
  /** pg_restore -j. Default 2. */
  jobs?: number;
  /** pg_restore --no-owner: objects belong to DB_USER instead of their original owners. */
  noOwner?: boolean;
  /** pg_restore --no-privileges: skip GRANT/REVOKE. */
  noPrivileges?: boolean;
  /** First create the roles and tablespaces the server lacks from a globals backup: "latest" or its id. */
  globals?: string;
}

export interface NormalizedRestoreInput {
  backup: string;
  database: string | undefined;
  target: string;
  mode: RestoreMode;
  jobs: number;
  noOwner: boolean;
  noPrivileges: boolean;
  globals: string | undefined;
}

const DEFAULT_RESTORE_JOBS = 2;

/** `<target>_restoring_<8 hex>`: where the archive is restored before it is swapped in. */
export function stagingName(target: string, uuid: string): string {
  return `${target}_restoring_${shortId(uuid)}`;
}

/** `pgkeeper_drill_<8 hex>`: a restore drill's scratch database (fits whatever the source's name length). */
export function drillScratchName(uuid: string): string {
  return `pgkeeper_drill_${shortId(uuid)}`;
}

/** `<target>_pre_restore_<yyyymmddhhmmss>`: the previous database, kept after a replace. */
export function keptName(target: string, epochMs: number): string {
  const stamp = new Date(epochMs).toISOString().slice(0, 19).replace(/[-:T]/g, '');
  return `${target}_pre_restore_${stamp}`;
}

export function validateJobs(jobs: unknown): number {
  const value = jobs ?? DEFAULT_RESTORE_JOBS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 64) {
    throw new InputError(`jobs must be a whole number from 1 to 64 (parallel pg_restore jobs); got ${JSON.stringify(jobs)}`);
  }
  return value;
}

const STAGING_SUFFIX_BYTES = utf8Length(stagingName('', '00000000'));
const KEPT_SUFFIX_BYTES = utf8Length(keptName('', 0));

const RESTORE_INPUT_EXAMPLE = '{"backup": "latest", "database": "app", "target": "app_restored"}';

export function normalizeRestoreInput(input: RestoreInput | undefined): NormalizedRestoreInput {
  if (typeof input !== 'object' || input === null) {
    throw new InputError(`restoreDatabase takes one object, e.g. ${RESTORE_INPUT_EXAMPLE}`);
  }
  const mode = input.mode ?? 'create';
  if (mode !== 'create' && mode !== 'replace') {
    throw new InputError(`mode must be "create" (the target must not exist) or "replace" (with confirm); got ${JSON.stringify(mode)}`);
  }
  if (typeof input.backup !== 'string' || input.backup.trim() === '') {
    throw new InputError(`backup is required: a backup id (see \`pgkeeper backups\`), "latest" with "database", or a path inside BACKUP_DIR; e.g. ${RESTORE_INPUT_EXAMPLE}`);
  }
  const reserve = mode === 'replace' ? Math.max(STAGING_SUFFIX_BYTES, KEPT_SUFFIX_BYTES) : STAGING_SUFFIX_BYTES;
  const target = validateDatabaseName(input.target, 'target', reserve);
  if (['postgres', 'template0', 'template1'].includes(target)) {
    throw new InputError(`target "${target}" is a system database pgkeeper relies on; restore into another name`);
  }
  const database = input.database === undefined ? undefined : validateDatabaseName(input.database, 'database');
  if (input.backup === 'latest' && database === undefined) {
    throw new InputError(`backup "latest" needs "database": whose newest backup to restore, e.g. ${RESTORE_INPUT_EXAMPLE}`);
  }
  if (mode === 'replace' && input.confirm !== target) {
    throw new InputError(
      `mode "replace" replaces the existing database "${target}" (it is kept renamed): set "confirm" to "${target}" to proceed` +
        (input.confirm === undefined ? '' : ` (confirm was ${JSON.stringify(input.confirm)})`),
    );
  }
  const jobs = validateJobs(input.jobs);
  for (const flag of ['noOwner', 'noPrivileges'] as const) {
    if (input[flag] !== undefined && typeof input[flag] !== 'boolean') {
      throw new InputError(`${flag} must be true or false; got ${JSON.stringify(input[flag])}`);
    }
  }
  return {
    backup: input.backup,
    database,
    target,
    mode,
    jobs,
    noOwner: input.noOwner ?? false,
    noPrivileges: input.noPrivileges ?? false,
    globals: input.globals === undefined ? undefined : validateGlobalsId(input.globals),
  };
}
