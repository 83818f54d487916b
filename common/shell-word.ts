/**
 * A word as a POSIX shell reads it back unchanged: as it is when plain, else in single quotes.
 * Messages suggest commands (`pgkeeper restore <id> --target <name>`) that people paste into a
 * shell, and database names may hold spaces and quotes.
 */
export function shellWord(text: string): string {
  return /^[\w.,:@%+=/-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
