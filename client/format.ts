/** Small formatting helpers for CLI output. */

/** "1 table", "3 tables". */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  // Each form rounds the time once, then splits it: 599.6 s is 10 min 0 s, not 9 min 60 s.
  if (ms < 999.5) return `${Math.round(ms)} ms`;
  if (ms < 119_950) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  const minutes = Math.round(ms / 60_000);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** An ISO time as a table shows it: "2026-12-04 02:00:00" (UTC, the column header says so). */
export function utcTime(iso: string): string {
  return iso.slice(0, 19).replace('T', ' ');
}

/**
 * Characters a terminal acts on or reorders instead of showing: C0 and C1 controls (a line break, an
 * escape sequence), bidirectional marks and overrides, line and paragraph separators, and the
 * zero-width space and byte-order mark, which show as nothing. A database
 * name may hold any of them but C0 (PostgreSQL takes them, and refusing them now would hide
 * existing backups of such names), and a failure's reason may hold a tab or a line break.
 */
const UNSHOWABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

const escaped = (c: string) => {
  const code = c.codePointAt(0)!;
  return c === '\n' ? '\\n' : c === '\t' ? '\\t' : code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/**
 * `text` with each such character as an escape (`\n`, `\t`, `\u202e`): it can neither break a
 * table's line nor print as other text. So are the combining marks of text that is not composed
 * (NFC): an e and a combining accent print as é, which may be another database's name.
 */
export function showable(text: string): string {
  const shown = text.replace(UNSHOWABLE, escaped);
  return shown === shown.normalize('NFC') ? shown : shown.replace(/\p{M}/gu, escaped);
}

/** Lines for stdout, each shown with `showable`: a result that names a database prints it as it is, escaped. */
export function showLines(lines: string[]): string {
  return lines.map(showable).join('\n') + '\n';
}

/** Fixed-width columns for listings; every cell shown with `showable`. */
export function table(rows: string[][]): string {
  const shown = rows.map((r) => r.map(showable));
  const widths = shown[0]!.map((_, i) => Math.max(...shown.map((r) => (r[i] ?? '').length)));
  return shown.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** A result for a machine: JSON on stdout, nothing else there. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/**
 * Stores that could not be read (down, access refused, bucket gone), a line each on stderr in every output form (`--json` included): why
 * the exit code is 3, and what that leaves out (`leftOut`: "its copies are not listed", say).
 */
export function sayUnreachable(unreachable: { store: string; reason: string }[], leftOut: string): void {
  if (unreachable.length > 0) process.stderr.write(showLines(unreachable.map((u) => `store ${u.store} could not be read (${leftOut}): ${u.reason}`)));
}

/**
 * The word for what is wrong with a backup that is not complete: damage, or a manifest only a newer
 * pgkeeper reads (the files likely sound: upgrade, never delete it as damage).
 */
export function damageWord(found: { newer?: true }[]): 'DAMAGED' | 'NEEDS NEWER PGKEEPER' {
  return found.length > 0 && found.every((f) => f.newer) ? 'NEEDS NEWER PGKEEPER' : 'DAMAGED';
}
