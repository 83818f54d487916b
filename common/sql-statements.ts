/**
 * The statements of a SQL script as pg_dump and pg_restore write it, each reduced to its skeleton:
 * the words it is made of, on one line, with the text of string literals and dollar-quoted bodies
 * replaced by empty ones and comments and psql meta-commands (`\restrict`) left out. What a
 * statement does can then be read from its words, never from what a function body or a default
 * value says (a procedure's `ALTER TABLE events RENAME TO events_old;` is no role named events_old).
 */

/** A character that may continue an identifier: an E before a quote is a prefix only after none. */
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
/** A dollar quote's opening tag, `$$` or `$tag$`, where one may start. */
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

export function statementSkeletons(script: string): string[] {
  const out: string[] = [];
  let current = '';
  let i = 0;
  const skipTo = (end: number) => {
    i = end < 0 ? script.length : end;
  };
  while (i < script.length) {
    const c = script[i]!;
    const prev = i > 0 ? script[i - 1]! : '';
    if (/\s/.test(c)) {
      if (current && !current.endsWith(' ')) current += ' ';
      i++;
    } else if (c === '\\' && current === '') {
      skipTo(script.indexOf('\n', i)); // a psql meta-command, at a statement's start: one line
    } else if (script.startsWith('--', i)) {
      skipTo(script.indexOf('\n', i));
    } else if (script.startsWith('/*', i)) {
      skipTo(commentEnd(script, i));
    } else if (c === "'") {
      // E'…' (after an E that is no identifier's end): backslashes escape, as in \'.
      const escapes = /[Ee]/.test(prev) && (i < 2 || !IDENT_CHAR.test(script[i - 2]!));
      skipTo(stringEnd(script, i, escapes));
      current += "''";
    } else if (c === '"') {
      const end = identifierEnd(script, i);
      current += script.slice(i, end);
      skipTo(end);
    } else if (c === '$' && !IDENT_CHAR.test(prev) && DOLLAR_TAG.test(script.slice(i, i + 64))) {
      const tag = DOLLAR_TAG.exec(script.slice(i, i + 64))![0];
      const close = script.indexOf(tag, i + tag.length);
      skipTo(close < 0 ? -1 : close + tag.length);
      current += '$$';
    } else if (c === ';') {
      out.push(`${current.trim()};`);
      current = '';
      i++;
    } else {
      current += c;
      i++;
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/** Just past the comment opened at `open` (they nest). */
function commentEnd(script: string, open: number): number {
  let depth = 0;
  for (let k = open; k < script.length; k++) {
    if (script.startsWith('/*', k)) {
      depth++;
      k++;
    } else if (script.startsWith('*/', k)) {
      depth--;
      k++;
      if (depth === 0) return k + 1;
    }
  }
  return script.length;
}

/** Just past the string opened at `open` (a doubled quote is one inside it; with `escapes`, so is \'). */
function stringEnd(script: string, open: number, escapes: boolean): number {
  for (let k = open + 1; k < script.length; k++) {
    if (escapes && script[k] === '\\') k++;
    else if (script[k] === "'") {
      if (script[k + 1] !== "'") return k + 1;
      k++;
    }
  }
  return script.length;
}

/** Just past the quoted identifier opened at `open` (a doubled quote is one inside it). */
function identifierEnd(script: string, open: number): number {
  for (let k = open + 1; k < script.length; k++) {
    if (script[k] === '"') {
      if (script[k + 1] !== '"') return k + 1;
      k++;
    }
  }
  return script.length;
}
