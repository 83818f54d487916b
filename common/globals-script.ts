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

/** The roles a statement creates or changes (a GRANT's grantees: their memberships change). */
function rolesTouched(statement: string): { created?: string; touched: string[] } {
  const t = tokens(statement);
  const word = (i: number) => t[i]?.word;
  if ((word(0) === 'CREATE' || word(0) === 'ALTER') && word(1) === 'ROLE') {
    const role = t[2]?.name;
    return { ...(word(0) === 'CREATE' && role !== undefined ? { created: role } : {}), touched: role !== undefined ? [role] : [] };
  }
  const onRole = t.findIndex((x, i) => x.word === 'ON' && word(i + 1) === 'ROLE');
  if ((word(0) === 'COMMENT' || word(0) === 'SECURITY') && onRole >= 0) return { touched: t[onRole + 2]?.name !== undefined ? [t[onRole + 2]!.name!] : [] };
  if (word(0) === 'GRANT') {
    // TO name [, name …], then WITH <option> or GRANTED BY: a role may be called "with" or "granted".
    const grantees: string[] = [];
    for (let i = t.findIndex((x) => x.word === 'TO') + 1; i > 0 && i < t.length; i += 2) {
      if (t[i]!.name !== undefined) grantees.push(t[i]!.name!);
      if (t[i + 1]?.word !== ',') break;
    }
    return { touched: grantees };
  }
  return { touched: [] };
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
  const created = rolesTouched(statement).created;
  if (created !== undefined && /[\r\n]/.test(created)) {
    throw new InputError(`the globals script creates a role whose name holds a line break (${JSON.stringify(created.slice(0, 60))}), which older pg_dumpall versions let run as SQL: it is not applied; read it, and apply what is meant by hand`);
  }
}

/**
 * The globals script minus everything that would change a role that already exists: its
 * CREATE/ALTER ROLE statements, comments and security labels, and what is granted to it. Only
 * missing roles are made, so restoring globals can never reset a live role's password or attributes.
 */
export function scriptForMissingRoles(script: string, existing: Set<string>): { script: string; created: string[] } {
  const created = new Set<string>();
  const all = statements(script);
  all.forEach(requireDumpallShape);
  const kept = all.filter((statement) => {
    const { created: made, touched } = rolesTouched(statement);
    if (touched.some((role) => existing.has(role))) return false;
    if (made !== undefined) created.add(made);
    return true;
  });
  return { script: kept.join('\n') + '\n', created: [...created].sort() };
}

export function countRoles(script: string): number {
  return (script.match(/^CREATE ROLE /gm) ?? []).length;
}
