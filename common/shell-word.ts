/**
 * A word as a POSIX shell reads it back unchanged: as it is when plain, else in single quotes.
 * Messages suggest commands (`pgkeeper restore <id> --target <name>`) that people paste into a
 * shell, and database names may hold spaces and quotes.
 */
export function shellWord(text: string): string {
  return /^[\w.,:@%+=/-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * A positional argument in a suggested command, after any options: a name starting with "-" would
 * read as an option, so `--` goes before it.
 */
export function lastArgument(text: string): string {
  return text.startsWith('-') ? `-- ${shellWord(text)}` : shellWord(text);
}
