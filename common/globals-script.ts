/** Filtering a `pg_dumpall --globals-only` script so that applying it only creates what is missing. */
import { IDENT_PATTERN, unquoteIdent } from './sql.js';

/** The line pg_dumpall ends a complete script with. */
export const GLOBALS_COMPLETE_MARKER = '-- PostgreSQL database cluster dump complete';

const ROLE_STATEMENT = new RegExp(`^(?:CREATE|ALTER) ROLE (${IDENT_PATTERN})[\\s;]`);
const MEMBERSHIP = new RegExp(`^GRANT (?:${IDENT_PATTERN}) TO (${IDENT_PATTERN})[\\s;]`);

/**
 * The globals script minus everything that would change a role that already exists: its
 * CREATE/ALTER ROLE statements and the memberships granted to it. Only missing roles are made, so
 * restoring globals can never reset a live role's password or attributes.
 */
export function scriptForMissingRoles(script: string, existing: Set<string>): { script: string; created: string[] } {
  const created = new Set<string>();
  const kept = script.split('\n').filter((line) => {
    const role = ROLE_STATEMENT.exec(line);
    if (role) {
      const name = unquoteIdent(role[1]!);
      if (existing.has(name)) return false;
      created.add(name);
      return true;
    }
    const member = MEMBERSHIP.exec(line);
    return !(member && existing.has(unquoteIdent(member[1]!)));
  });
  return { script: kept.join('\n'), created: [...created].sort() };
}

export function countRoles(script: string): number {
  return (script.match(/^CREATE ROLE /gm) ?? []).length;
}
