/** What a schema script (what `pg_restore --schema-only` would run) needs of the server: the roles it refers to (owners, grantees), its tablespaces. */
import { IDENT_PATTERN, unquoteIdent } from './sql.js';

const IDENT = IDENT_PATTERN;
const ROLE_REFERENCES = [
  new RegExp(String.raw`OWNER TO (${IDENT});`, 'g'),
  new RegExp(String.raw`\bTO ((?:${IDENT})(?:, (?:${IDENT}))*)(?: WITH GRANT OPTION)?;`, 'g'),
  new RegExp(String.raw`\bFROM ((?:${IDENT})(?:, (?:${IDENT}))*);`, 'g'),
  new RegExp(String.raw`FOR ROLE (${IDENT})`, 'g'),
];
const NOT_ROLES = new Set(['public', 'current_user', 'session_user', 'current_role']);

/** Roles named by OWNER TO, GRANT ... TO, REVOKE ... FROM and FOR ROLE in a schema script. */
export function rolesReferenced(script: string): string[] {
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

const TABLESPACE_SETTING = new RegExp(String.raw`^SET default_tablespace = (${IDENT});$`, 'gm');

/** Tablespaces the script puts tables and indexes in (pg_dump selects one with SET default_tablespace; '' is the default). */
export function tablespacesReferenced(script: string): string[] {
  return [...new Set([...script.matchAll(TABLESPACE_SETTING)].map((m) => unquoteIdent(m[1]!)))].sort();
}
