/**
 * The command line's names for input fields, so the shared validators speak in flags here
 * (`--replace --confirm app`) and in JSON fields in the Temporal UI (`"confirm": "app"`).
 */
import type { InputSurface } from '../common/input-fields.js';

const FLAGS: Record<string, string> = {
  backup: '<backup>',
  database: '--database',
  target: '--target',
  mode: '--replace',
  confirm: '--confirm',
  jobs: '--jobs',
  noOwner: '--no-owner',
  noPrivileges: '--no-privileges',
  noTablespaces: '--no-tablespaces',
  globals: '--globals',
  store: '--store',
  compression: '--compression',
  compressLevel: '--compress-level',
  verify: '--verify',
  retention: '--retention',
  include: '--include',
  exclude: '--exclude',
  concurrency: '--concurrency',
  waitTimeoutSeconds: '--wait-timeout',
  policy: '--retention',
  dryRun: '--dry-run',
};

export const cliSurface: InputSurface = {
  field: (name) => FLAGS[name] ?? name,
  setting: (name, value) => {
    if (name === 'mode') return value === 'replace' ? '--replace' : '';
    if (typeof value === 'boolean') return FLAGS[name] ?? name;
    return `${FLAGS[name] ?? name} ${/^[\w.:@/-]+$/.test(String(value)) ? String(value) : JSON.stringify(value)}`;
  },
};

/** Commands that take the database as their argument (`pgkeeper drill app`), not as `--database`. */
export const databaseArgumentSurface: InputSurface = { ...cliSurface, field: (name) => (name === 'database' ? 'database' : cliSurface.field(name)) };

/** The restore a hint is for: its target, whether it replaces, and the globals backup it applied, if any (a drill has none). */
export interface HintContext {
  target?: string;
  replace?: boolean;
  globals?: string;
}

/**
 * What to do next, in flags, for failures whose fix is a CLI option. The worker's message says the
 * fix for the UI too (JSON fields); where the failure also carries the problem alone, the CLI
 * prints that with this hint instead (client/cli-error.ts failedRun), so the fix is said once.
 */
export function cliHint(type: string | undefined, context?: HintContext): string | undefined {
  switch (type) {
    case 'TargetExists':
      return context?.target ? `restore into another --target, or replace it: --replace --confirm ${context.target}` : undefined;
    case 'DatabaseMissing': // a replace of a database that is not there
      return context?.replace ? 'to restore into a new database of that name, leave out --replace' : undefined;
    case 'RolesMissing':
      if (!context?.target) return 'create the roles on this server (a restore with --globals latest makes them from the newest globals backup)';
      return context.globals !== undefined
        ? `the globals backup applied (--globals ${context.globals}) does not hold them: it is older than they are; create the roles, or --no-owner --no-privileges`
        : 'create the roles, or add --globals latest, or --no-owner --no-privileges';
    case 'TablespacesMissing':
      if (!context?.target) return 'create the tablespaces on this server (a restore with --globals latest makes them where their directories exist)';
      return context.globals !== undefined
        ? 'the globals backup applied did not make them (not in it, or their directories missing on this server); create the tablespaces, or add --no-tablespaces'
        : 'create the tablespaces, or add --globals latest (where their directories exist), or --no-tablespaces';
    default:
      return undefined;
  }
}
