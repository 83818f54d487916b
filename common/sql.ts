/** Quoting for SQL text that cannot take bind parameters (CREATE/ALTER/DROP DATABASE). */

/** Always quotes, so every name means exactly itself, whatever quotes, semicolons or case it holds. */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new Error('identifier contains a NUL byte');
  return `"${name.replace(/"/g, '""')}"`;
}
