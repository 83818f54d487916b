/** Quoting for SQL text that cannot take bind parameters (CREATE/ALTER/DROP DATABASE). */

/** Always quotes, so every name means exactly itself, whatever quotes, semicolons or case it holds. */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new Error('identifier contains a NUL byte');
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal (standard_conforming_strings: only the quote is doubled). */
export function quoteLiteral(text: string): string {
  if (text.includes('\u0000')) throw new Error('literal contains a NUL byte');
  return `'${text.replace(/'/g, "''")}'`;
}

/** An identifier as PostgreSQL reads it: quoted ones verbatim (with "" for "), others folded to lower case. */
export function unquoteIdent(ident: string): string {
  return ident.startsWith('"') ? ident.slice(1, -1).replace(/""/g, '"') : ident.toLowerCase();
}

/** A quoted or plain identifier, as a regular expression source. */
export const IDENT_PATTERN = String.raw`"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*`;
