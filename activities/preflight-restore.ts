/**
 * checkTargetAndRoles: everything that would make a restore fail for a reason the user must fix,
 * found before the restore starts: a target that exists in create mode, and roles the archive
 * needs (owners, grantees) that the server lacks.
 */
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { IDENT_PATTERN, unquoteIdent } from '../common/sql.js';
import { databaseExists, withAdmin } from './database-admin.js';
import { failure, rejectingInput } from './failures.js';
import { runPgTool } from './pg-tools.js';
import { realPathInside } from './resolve-backup.js';

export interface PreflightRequest {
  target: string;
  mode: 'create' | 'replace';
  dumpPath: string;
  noOwner: boolean;
  noPrivileges: boolean;
}

const IDENT = IDENT_PATTERN;
const ROLE_REFERENCES = [
  new RegExp(String.raw`OWNER TO (${IDENT});`, 'g'),
  new RegExp(String.raw`\bTO ((?:${IDENT})(?:, (?:${IDENT}))*)(?: WITH GRANT OPTION)?;`, 'g'),
  new RegExp(String.raw`\bFROM ((?:${IDENT})(?:, (?:${IDENT}))*);`, 'g'),
  new RegExp(String.raw`FOR ROLE (${IDENT})`, 'g'),
];
const NOT_ROLES = new Set(['public', 'current_user', 'session_user', 'current_role']);

/** Roles named by OWNER TO, GRANT ... TO, REVOKE ... FROM and FOR ROLE in a schema script. */
function rolesReferenced(script: string): string[] {
  const roles = new Set<string>();
  for (const line of script.split('\n')) {
    if (!/^(ALTER|GRANT|REVOKE)\b/.test(line)) continue;
    for (const pattern of ROLE_REFERENCES) {
      for (const match of line.matchAll(pattern)) {
        for (const ident of match[1]!.match(new RegExp(IDENT, 'g')) ?? []) {
          if (!ident.startsWith('"') && NOT_ROLES.has(ident.toLowerCase())) continue;
          roles.add(unquoteIdent(ident));
        }
      }
    }
  }
  return [...roles].sort();
}

export async function checkTargetAndRoles(config: Config, req: PreflightRequest): Promise<{ roles: string[] }> {
  const file = await rejectingInput(config, () => realPathInside(config, req.dumpPath));
  // The schema script pg_restore would run, with the same owner/privilege options: exactly the roles it needs.
  const script = await runPgTool(
    config,
    'pg_restore',
    ['--schema-only', '--file=-', ...(req.noOwner ? ['--no-owner'] : []), ...(req.noPrivileges ? ['--no-privileges'] : []), file],
    { purpose: `read the schema of ${file}` },
  );
  const roles = rolesReferenced(script);
  return withAdmin(config, async (client) => {
    if (req.mode === 'create' && (await databaseExists(client, req.target))) {
      throw failure(
        config,
        FailureType.TargetExists,
        `database "${req.target}" already exists and mode is "create"; restore into another target, or use mode "replace" with confirm "${req.target}"`,
      );
    }
    const { rows } = await client.query<{ rolname: string }>('select rolname from pg_roles where rolname = any($1)', [roles]);
    const present = new Set(rows.map((r) => r.rolname));
    const missing = roles.filter((r) => !present.has(r));
    if (missing.length > 0) {
      throw failure(
        config,
        FailureType.RolesMissing,
        `roles missing on ${config.db.host}:${config.db.port}: ${missing.map((r) => `"${r}"`).join(', ')}. ` +
          'Create them (or restore a globals backup first), or restore with noOwner: true (objects owned by DB_USER) and noPrivileges: true (no GRANTs)',
      );
    }
    return { roles };
  });
}
