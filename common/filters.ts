/**
 * The archive's filter chain: what happens to pg_dump's output between pg_dump and the store.
 * Compression is either pg_dump's own gzip (`gzip:N`: the archive stays a plain `pg_restore`-able
 * file) or zstd on the stream (`zstd:N`: pg_dump writes uncompressed, zstd uses another core);
 * encryption is age. The manifest records the chain; a restore runs it backwards.
 */
import { InputError } from './errors.js';
import { jsonSurface, quoteInput, type InputSurface } from './input-fields.js';

export type Compression = { kind: 'zstd'; level: number } | { kind: 'gzip'; level: number } | { kind: 'none' };

/** One stage after pg_dump, in the order applied when backing up. */
export type FilterStep = { filter: 'zstd'; level: number } | { filter: 'age'; recipients: string[] };

/**
 * Default chosen by measurement (bench/, README "Performance"): zstd level 1 on the stream is
 * faster than pg_dump -Z1 and smaller than pg_dump's default gzip level.
 */
export const DEFAULT_COMPRESSION: Compression = { kind: 'zstd', level: 1 };

const LEVELS = { zstd: [1, 19], gzip: [0, 9] } as const;
const COMPRESSION_EXAMPLES = '"zstd:1" (default), "zstd:9", "gzip:1" (pg_dump\'s own, plain pg_restore archive) or "none"';

export function formatCompression(c: Compression): string {
  return c.kind === 'none' ? 'none' : `${c.kind}:${c.level}`;
}

/** `zstd:3`, `zstd` (level 1), `gzip:6`, `gzip` (level 6, pg_dump's default), `none`. */
export function parseCompression(value: unknown, surface: InputSurface = jsonSurface): Compression {
  if (value === undefined) return DEFAULT_COMPRESSION;
  const match = typeof value === 'string' ? /^(zstd|gzip|none)(?::(\d{1,2}))?$/.exec(value.trim()) : null;
  if (!match) throw new InputError(`${surface.field('compression')} must be ${COMPRESSION_EXAMPLES}; got ${quoteInput(value)}`);
  const kind = match[1] as Compression['kind'];
  if (kind === 'none') {
    if (match[2] !== undefined) throw new InputError(`${surface.field('compression')} "none" takes no level; got ${quoteInput(value)}`);
    return { kind };
  }
  const [min, max] = LEVELS[kind];
  const level = match[2] === undefined ? (kind === 'zstd' ? 1 : 6) : Number(match[2]);
  if (level < min || level > max) {
    throw new InputError(`${surface.field('compression')} ${kind} levels go from ${min} to ${max}; got ${quoteInput(value)}`);
  }
  return { kind, level };
}

/** The pg_dump `--compress` level for a compression choice: 0 when a filter compresses. */
export function pgDumpLevel(c: Compression): number {
  return c.kind === 'gzip' ? c.level : 0;
}

export function filterChain(c: Compression, recipients: string[]): FilterStep[] {
  return [...(c.kind === 'zstd' ? [{ filter: 'zstd' as const, level: c.level }] : []), ...(recipients.length ? [{ filter: 'age' as const, recipients }] : [])];
}

const SUFFIX = { zstd: '.zst', age: '.age' } as const;

/** `.dump`, `.dump.zst`, `.dump.zst.age`: the stored archive's name says what it is. */
export function archiveSuffix(filters: FilterStep[]): string {
  return '.dump' + filters.map((f) => SUFFIX[f.filter]).join('');
}

export function isEncrypted(filters: FilterStep[]): boolean {
  return filters.some((f) => f.filter === 'age');
}

export function recipientsOf(filters: FilterStep[]): string[] {
  return filters.flatMap((f) => (f.filter === 'age' ? f.recipients : []));
}

/** The chain of an archive found without a manifest, read from its name (`x.dump.zst.age`). */
export function filtersFromName(name: string): FilterStep[] | undefined {
  const m = /\.dump((?:\.zst|\.age)*)$/.exec(name);
  if (!m) return undefined;
  return (m[1]!.match(/\.(zst|age)/g) ?? []).map((s) => (s === '.zst' ? { filter: 'zstd' as const, level: 0 } : { filter: 'age' as const, recipients: [] }));
}

/** A chain read from a manifest: refuses filters this version does not know, naming them. */
export function checkFilterChain(raw: unknown): FilterStep[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new Error(`"filters" is not a list`);
  return raw.map((step: { filter?: unknown; level?: unknown; recipients?: unknown }) => {
    if (step?.filter === 'zstd' && typeof step.level === 'number') return { filter: 'zstd', level: step.level };
    if (step?.filter === 'age' && Array.isArray(step.recipients) && step.recipients.every((r) => typeof r === 'string')) {
      return { filter: 'age', recipients: step.recipients as string[] };
    }
    // A name this pgkeeper does not know is a newer pgkeeper's; anything else (a known filter written
    // wrong, a step that names none) is damage.
    if (typeof step?.filter === 'string' && step.filter !== 'zstd' && step.filter !== 'age') throw new UnknownFilterError(quoteInput(step.filter));
    throw new Error(`a step of the filter chain is malformed: ${quoteInput(step)}`);
  });
}

export class UnknownFilterError extends Error {
  override readonly name = 'UnknownFilterError';
  constructor(readonly filter: string) {
    super(`written by a newer pgkeeper (filter ${filter}; this one knows "zstd" and "age"): upgrade pgkeeper on the worker to read it`);
  }
}
