/**
 * Filtering a `pg_dumpall --globals-only` script so that applying it only creates what is missing.
 * The script is read statement by statement, quotes and comments respected: a role name may hold a
 * line break or a semicolon, and a filter by lines would cut such a name in two and run the rest of
 * it as SQL (a role made by someone with CREATEROLE could make itself superuser that way). A script
 * holding anything pg_dumpall does not write is refused whole.
 */
import { InputError } from './errors.js';

/** The line pg_dumpall ends a complete script with. */
export const GLOBALS_COMPLETE_MARKER = '-- PostgreSQL database cluster dump complete';

/** psql meta-commands pg_dumpall writes (since 15.14: the restrict key that keeps others from running). */
const META_COMMAND = /^\\(?:restrict|unrestrict) [A-Za-z0-9]+$/;

/** The script's statements: SQL up to its `;`, and meta-command lines; comments and blank lines left out. */
function statements(script: string): string[] {
  const out: string[] = [];
  let i = 0;
  const endOfLine = (from: number) => (script.indexOf('\n', from) < 0 ? script.length : script.indexOf('\n', from));
  while (i < script.length) {
    if (/\s/.test(script[i]!)) i++;
    else if (script.startsWith('--', i)) i = endOfLine(i);
    else if (script[i] === '\\') {
      const line = script.slice(i, endOfLine(i)).trimEnd();
      if (!META_COMMAND.test(line)) throw new InputError(`the globals script holds a psql command pg_dumpall does not write (${JSON.stringify(line.slice(0, 60))}): it is not applied`);
      out.push(line);
      i = endOfLine(i);
    } else {
      let j = i;
      while (script[j] !== ';') {
        if (j >= script.length) throw new InputError(`the globals script ends inside a statement (${JSON.stringify(script.slice(i, i + 60))}…): it is not applied`);
        const c = script[j]!;
        if (c === '"' || c === "'") j = closingQuote(script, j) + 1;
        else if (script.startsWith('--', j)) j = endOfLine(j);
        // psql would run it as a meta-command (\! runs a shell): pg_dumpall writes none there.
        else if (c === '\\') throw new InputError(`the globals script holds a backslash outside quotes (${JSON.stringify(script.slice(i, i + 60))}…), which psql would run as a command: it is not applied`);
        else j++;
      }
      out.push(script.slice(i, j + 1));
      i = j + 1;
    }
  }
  return out;
}

/** Where the quote opened at `open` closes (a doubled quote is one inside it). */
function closingQuote(script: string, open: number): number {
  const quote = script[open]!;
  for (let k = open + 1; ; k += 2) {
    k = script.indexOf(quote, k);
    if (k < 0) throw new InputError(`the globals script has a quote that never closes (${JSON.stringify(script.slice(open, open + 60))}…): it is not applied`);
    if (script[k + 1] !== quote) return k;
  }
}

/** A statement's words, names (quoted identifiers unquoted, plain ones folded to lower case) and punctuation. */
function tokens(statement: string): { word?: string; name?: string }[] {
  const out: { word?: string; name?: string }[] = [];
  for (let i = 0; i < statement.length; ) {
    const c = statement[i]!;
    const plain = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(statement.slice(i, i + 256));
    if (plain) {
      out.push({ word: plain[0].toUpperCase(), name: plain[0].toLowerCase() });
      i += plain[0].length;
    } else if (c === '"') {
      const end = closingQuote(statement, i);
      out.push({ name: statement.slice(i + 1, end).replace(/""/g, '"') });
      i = end + 1;
    } else if (c === "'") {
      out.push({});
      i = closingQuote(statement, i) + 1;
    } else {
      if (c === ',') out.push({ word: ',' });
      else if (!/\s/.test(c)) out.push({});
      i++;
    }
  }
  return out;
}

/**
 * What a statement creates or changes: a role (its CREATE/ALTER ROLE, comment or security label),
 * the roles granted or revoked something (their memberships and privileges change), a tablespace
 * (its CREATE/ALTER, comment, security label, or a privilege on it).
 */
function objectsTouched(statement: string): { createdRole?: string; roles: string[]; tablespace?: string; createsTablespace?: true; privilegeOnTablespace?: true } {
  const t = tokens(statement);
  const word = (i: number) => t[i]?.word;
  const named = (i: number) => (t[i]?.name !== undefined ? [t[i]!.name!] : []);
  if ((word(0) === 'CREATE' || word(0) === 'ALTER') && word(1) === 'ROLE') {
    return { ...(word(0) === 'CREATE' && t[2]?.name !== undefined ? { createdRole: t[2].name } : {}), roles: named(2) };
  }
  if ((word(0) === 'CREATE' || word(0) === 'ALTER') && word(1) === 'TABLESPACE' && t[2]?.name !== undefined) {
    return { roles: [], tablespace: t[2].name, ...(word(0) === 'CREATE' ? { createsTablespace: true as const } : {}) };
  }
  const on = t.findIndex((x, i) => x.word === 'ON' && (word(i + 1) === 'ROLE' || word(i + 1) === 'TABLESPACE'));
  if ((word(0) === 'COMMENT' || word(0) === 'SECURITY') && on >= 0) {
    return word(on + 1) === 'ROLE' ? { roles: named(on + 2) } : { roles: [], ...(t[on + 2]?.name !== undefined ? { tablespace: t[on + 2]!.name } : {}) };
  }
  if (word(0) === 'GRANT' || word(0) === 'REVOKE') {
    // TO (FROM) name [, name …], then WITH <option>, GRANTED BY or CASCADE: a role may be called "with" or "granted".
    const to = word(0) === 'GRANT' ? 'TO' : 'FROM';
    const grantees: string[] = [];
    for (let i = t.findIndex((x) => x.word === to) + 1; i > 0 && i < t.length; i += 2) {
      if (t[i]!.name !== undefined) grantees.push(t[i]!.name!);
      if (t[i + 1]?.word !== ',') break;
    }
    const space = t.findIndex((x, i) => x.word === 'ON' && word(i + 1) === 'TABLESPACE');
    return space >= 0 && t[space + 2]?.name !== undefined ? { roles: grantees, tablespace: t[space + 2]!.name, privilegeOnTablespace: true } : { roles: grantees };
  }
  return { roles: [] };
}

/**
 * What pg_dumpall --globals-only writes, by first words: anything else (ALTER USER, DO, COPY … TO
 * PROGRAM) is no part of one, and was put there through a role name (an older pg_dumpall wrote
 * names raw in its comments, so a line break in one ended the comment).
 */
const GLOBALS_STATEMENT = /^(?:SET|CREATE ROLE|ALTER ROLE|COMMENT ON (?:ROLE|TABLESPACE)|SECURITY LABEL|GRANT|REVOKE|CREATE TABLESPACE|ALTER TABLESPACE)\b/i;

/** Refuses a script that is not pg_dumpall's alone: a statement of another kind, or a role name holding a line break. */
function requireDumpallShape(statement: string): void {
  if (statement.startsWith('\\')) return;
  if (!GLOBALS_STATEMENT.test(statement)) {
    throw new InputError(`the globals script holds a statement pg_dumpall does not write (${JSON.stringify(statement.slice(0, 60))}…), put there through a role's name: it is not applied; read it, and apply what is meant by hand`);
  }
  const created = objectsTouched(statement).createdRole;
  if (created !== undefined && /[\r\n]/.test(created)) {
    throw new InputError(`the globals script creates a role whose name holds a line break (${JSON.stringify(created.slice(0, 60))}), which older pg_dumpall versions let run as SQL: it is not applied; read it, and apply what is meant by hand`);
  }
}

/**
 * The globals script minus everything that would change a role or tablespace that already exists:
 * their CREATE/ALTER statements, comments and security labels, what is granted to an existing role
 * (but a privilege on a tablespace made now, as it was), and an existing role's privilege on an
 * existing tablespace. Only missing ones are made, so restoring globals can never reset a live
 * role's password or attributes, nor a live tablespace's options or privileges.
 */
export function scriptForMissing(script: string, existing: { roles: Set<string>; tablespaces: Set<string> }): { script: string; created: string[]; tablespaces: string[] } {
  const created = new Set<string>();
  const tablespaces = new Set<string>();
  const all = statements(script);
  all.forEach(requireDumpallShape);
  const kept = all.filter((statement) => {
    const { createdRole, roles, tablespace, createsTablespace, privilegeOnTablespace } = objectsTouched(statement);
    const [liveRole, liveSpace] = [roles.some((role) => existing.roles.has(role)), tablespace !== undefined && existing.tablespaces.has(tablespace)];
    if (privilegeOnTablespace ? liveRole && liveSpace : liveRole || liveSpace) return false;
    if (createdRole !== undefined) created.add(createdRole);
    if (createsTablespace) tablespaces.add(tablespace!);
    return true;
  });
  return { script: kept.join('\n') + '\n', created: [...created].sort(), tablespaces: [...tablespaces].sort() };
}

export function countRoles(script: string): number {
  return (script.match(/^CREATE ROLE /gm) ?? []).length;
}
