/**
 * Validation and defaults of restoreDatabase input. The short form is safe:
 * `mode` defaults to "create" (the target must not exist); "replace" needs `confirm` equal to the target.
 */
import { shortId } from './backup-id.js';
import { InputError } from './errors.js';
import { validateGlobalsId } from './globals.js';
import { checkFields, jsonSurface, quoteInput, type InputSurface } from './input-fields.js';
import { utf8Length, validateDatabaseName } from './names.js';

export type RestoreMode = 'create' | 'replace';

export interface RestoreInput {
  /** A backup id, "latest" (with `database`), or the key of an archive in a store (a path inside BACKUP_DIR for a local store). */
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
  /** pg_restore --no-tablespaces: every table in the server's default tablespace (for a server without the backup's tablespaces). */
  noTablespaces?: boolean;
  /** First create the roles and tablespaces the server lacks from a globals backup: "latest" or its id. */
  globals?: string;
  /** Read the backup from this store (its URL, as configured on the worker); default: the first store that has it intact. */
  store?: string;
}

export const RESTORE_FIELDS = ['backup', 'database', 'target', 'mode', 'confirm', 'jobs', 'noOwner', 'noPrivileges', 'noTablespaces', 'globals', 'store'] as const;

export interface NormalizedRestoreInput {
  backup: string;
  database: string | undefined;
  target: string;
  mode: RestoreMode;
  jobs: number;
  noOwner: boolean;
  noPrivileges: boolean;
  noTablespaces: boolean;
  globals: string | undefined;
  store: string | undefined;
}

const DEFAULT_RESTORE_JOBS = 2;

/** `<target>_restoring_<8 hex>`: where the archive is restored before it is swapped in. */
export function stagingName(target: string, uuid: string): string {
  return `${target}_restoring_${shortId(uuid)}`;
}

/** Staging databases of restores, and scratch databases of restore drills: the only names pgkeeper may drop. */
export const STAGING_NAME = /(_restoring_|^pgkeeper_drill_)[0-9a-f]{8}$/;

export function isStagingName(name: string): boolean {
  return STAGING_NAME.test(name);
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

/** A restore's options besides its backup, target and store, as a command suggested in its place carries them. */
export interface RestoreOptions {
  /** Only when not the default. */
  jobs?: number;
  noOwner?: boolean;
  noPrivileges?: boolean;
  noTablespaces?: boolean;
  globals?: string;
}

export function restoreOptionsOf(req: NormalizedRestoreInput): RestoreOptions {
  return {
    ...(req.jobs !== DEFAULT_RESTORE_JOBS && { jobs: req.jobs }),
    ...(req.noOwner && { noOwner: true }),
    ...(req.noPrivileges && { noPrivileges: true }),
    ...(req.noTablespaces && { noTablespaces: true }),
    ...(req.globals !== undefined && { globals: req.globals }),
  };
}

export function validateJobs(jobs: unknown, surface: InputSurface = jsonSurface): number {
  const value = jobs ?? DEFAULT_RESTORE_JOBS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 64) {
    throw new InputError(`${surface.field('jobs')} must be a whole number from 1 to 64 (parallel pg_restore jobs); got ${quoteInput(jobs)}`);
  }
  return value;
}

/** The store a run should read from, when the input names one. */
export function validateStoreField(store: unknown, surface: InputSurface = jsonSurface): string | undefined {
  if (store === undefined) return undefined;
  if (typeof store !== 'string' || store.trim() === '') {
    throw new InputError(`${surface.field('store')} must be the URL of one of the worker's stores, e.g. "s3://backups/pg" (see \`pgkeeper backups\`); got ${quoteInput(store)}`);
  }
  return store;
}

const STAGING_SUFFIX_BYTES = utf8Length(stagingName('', '00000000'));
const KEPT_SUFFIX_BYTES = utf8Length(keptName('', 0));

/** Longer than any backup id or store key can sensibly be. */
const MAX_BACKUP_TEXT = 1024;

const RESTORE_INPUT_EXAMPLE = '{"backup": "latest", "database": "app", "target": "app_restored"}';

/**
 * Rules added after restores may already be running: the workflow turns each on behind a patch, so
 * a restore started before the rule replays as it ran (the CLI always applies them).
 */
export interface RestoreInputRules {
  /** `confirm` without `mode: "replace"` is refused. */
  confirmNeedsReplace: boolean;
}

export function normalizeRestoreInput(input: unknown, surface: InputSurface = jsonSurface, rules: RestoreInputRules = { confirmNeedsReplace: true }): NormalizedRestoreInput {
  const value = checkFields(input, RESTORE_FIELDS, 'restoreDatabase', RESTORE_INPUT_EXAMPLE, surface) as Partial<RestoreInput>;
  const mode = value.mode ?? 'create';
  if (mode !== 'create' && mode !== 'replace') {
    throw new InputError(`${surface.field('mode')} must be "create" (the target must not exist) or "replace" (with ${surface.field('confirm')}); got ${quoteInput(mode)}`);
  }
  if (typeof value.backup !== 'string' || value.backup.trim() === '') {
    throw new InputError(
      `${surface.field('backup')} is required: a backup id (see \`pgkeeper backups\`), "latest" with ${surface.field('database')}, or the key of an archive in the store; e.g. ${RESTORE_INPUT_EXAMPLE}`,
    );
  }
  if (value.backup.length > MAX_BACKUP_TEXT) {
    throw new InputError(`${surface.field('backup')} ${quoteInput(value.backup)} is too long for a backup id or key (at most ${MAX_BACKUP_TEXT} characters)`);
  }
  const reserve = mode === 'replace' ? Math.max(STAGING_SUFFIX_BYTES, KEPT_SUFFIX_BYTES) : STAGING_SUFFIX_BYTES;
  const target = validateDatabaseName(value.target, surface.field('target'), reserve);
  if (['postgres', 'template0', 'template1'].includes(target)) {
    throw new InputError(`${surface.field('target')} "${target}" is a system database pgkeeper relies on; restore into another name`);
  }
  if (isStagingName(target)) {
    // A database under such a name is one pgkeeper allows itself to drop, and lists as a restore's leftover.
    throw new InputError(`${surface.field('target')} "${target}" has the shape of pgkeeper's own staging names (<name>_restoring_<8 hex>, pgkeeper_drill_<8 hex>), which pgkeeper may drop; restore into another name`);
  }
  const database = value.database === undefined ? undefined : validateDatabaseName(value.database, surface.field('database'));
  if (value.backup === 'latest' && database === undefined) {
    const example = surface === jsonSurface ? RESTORE_INPUT_EXAMPLE : surface.setting('database', 'app');
    throw new InputError(`backup "latest" needs ${surface.field('database')}: whose newest backup to restore, e.g. ${example}`);
  }
  if (rules.confirmNeedsReplace && mode === 'create' && value.confirm !== undefined) {
    // Most likely the replace was forgotten: say so rather than quietly create (or fail on an existing target).
    throw new InputError(
      `${surface.field('confirm')} goes with ${surface.setting('mode', 'replace')}: to replace "${target}" add ${surface.setting('mode', 'replace')}; to restore into a new database leave ${surface.field('confirm')} out`,
    );
  }
  if (mode === 'replace' && value.confirm !== target) {
    throw new InputError(
      `${surface.setting('mode', 'replace')} replaces the existing database "${target}" (it is kept renamed): add ${surface.setting('confirm', target)} to proceed` +
        (value.confirm === undefined ? '' : ` (${surface.field('confirm')} was ${quoteInput(value.confirm)})`),
    );
  }
  const jobs = validateJobs(value.jobs, surface);
  for (const flag of ['noOwner', 'noPrivileges', 'noTablespaces'] as const) {
    if (value[flag] !== undefined && typeof value[flag] !== 'boolean') {
      throw new InputError(`${surface.field(flag)} must be true or false; got ${quoteInput(value[flag])}`);
    }
  }
  return {
    backup: value.backup,
    database,
    target,
    mode,
    jobs,
    noOwner: value.noOwner ?? false,
    noPrivileges: value.noPrivileges ?? false,
    noTablespaces: value.noTablespaces ?? false,
    globals: value.globals === undefined ? undefined : validateGlobalsId(value.globals, surface),
    store: validateStoreField(value.store, surface),
  };
}
