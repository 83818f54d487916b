/** What a schema script (what `pg_restore --schema-only` would run) needs of the server: the roles it refers to (owners, grantees), its tablespaces. */
import { statementSkeletons } from './sql-statements.js';
import { IDENT_PATTERN, unquoteIdent } from './sql.js';

const IDENT = IDENT_PATTERN;
const LIST = String.raw`(?:${IDENT})(?:, (?:${IDENT}))*`;
/** Where a statement names roles, by what it begins with; each pattern reads a whole statement's skeleton. */
const ROLE_REFERENCES: [RegExp, RegExp[]][] = [
  // GRANT/REVOKE, and ALTER DEFAULT PRIVILEGES [FOR ROLE r] … GRANT/REVOKE: the grantees at the end.
  [
    /^(?:GRANT|REVOKE|ALTER DEFAULT PRIVILEGES)\b/,
    [
      new RegExp(String.raw`\bTO (${LIST})(?: WITH GRANT OPTION)?;$`),
      new RegExp(String.raw`\bFROM (${LIST})(?: CASCADE| RESTRICT)?;$`),
      new RegExp(String.raw`^ALTER DEFAULT PRIVILEGES FOR ROLE (${IDENT}) `),
    ],
  ],
  // ALTER <object> … OWNER TO r;
  [/^ALTER\b/, [new RegExp(String.raw`\bOWNER TO (${IDENT});$`)]],
  // Roles a policy or a user mapping names: needed whatever noOwner and noPrivileges leave out.
  [/^CREATE POLICY\b/, [new RegExp(String.raw`\bTO (${LIST})(?: USING \(| WITH CHECK \(|;$)`)]],
  [/^CREATE USER MAPPING\b/, [new RegExp(String.raw`^CREATE USER MAPPING FOR (${IDENT}) SERVER `)]],
  // A privilege granted by someone other than the owner is granted as that grantor.
  [/^SET SESSION AUTHORIZATION\b/, [new RegExp(String.raw`^SET SESSION AUTHORIZATION (${IDENT});$`)]],
];
const NOT_ROLES = new Set(['public', 'current_user', 'session_user', 'current_role']);

/** Roles named by OWNER TO, GRANT … TO, REVOKE … FROM, FOR ROLE, a policy's TO, a user mapping's FOR and a grantor's SET SESSION AUTHORIZATION in a schema script's statements (never in their literals or bodies). */
export function rolesReferenced(script: string): string[] {
  const roles = new Set<string>();
  for (const statement of statementSkeletons(script)) {
    for (const [begins, patterns] of ROLE_REFERENCES) {
      if (!begins.test(statement)) continue;
      for (const pattern of patterns) {
        for (const ident of pattern.exec(statement)?.[1]?.match(new RegExp(IDENT, 'g')) ?? []) {
          if (!ident.startsWith('"') && NOT_ROLES.has(ident.toLowerCase())) continue;
          roles.add(unquoteIdent(ident));
        }
      }
      break;
    }
  }
  return [...roles].sort();
}

/** The encoding the script's data is in (pg_dump's first statement sets it). */
export function scriptEncoding(script: string): string | undefined {
  return /^SET client_encoding = '([A-Za-z0-9_]+)';$/m.exec(script)?.[1];
}

const TABLESPACE_SETTING = new RegExp(String.raw`^SET default_tablespace = (${IDENT});$`);

/** Tablespaces the script puts tables and indexes in (pg_dump selects one with SET default_tablespace; '' is the default). */
export function tablespacesReferenced(script: string): string[] {
  const named = statementSkeletons(script).flatMap((statement) => TABLESPACE_SETTING.exec(statement)?.[1] ?? []);
  return [...new Set(named.map(unquoteIdent))].sort();
}
