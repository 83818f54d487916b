/**
 * The benchmark's samples, and what it prints and writes: one table of comparisons (baseline,
 * pgkeeper, ratio, target ✓/✗, and each backup time against the extraction floor), one of
 * compression levels, one of CPU seconds (where the time goes), and a JSON file with every sample.
 */
import { median, round } from './measure.js';

/** Every sample of every measure: `samples.add('bare.zstd', { ms: 1834, cpuChildren: 3.1 })`. */
export class Samples {
  private readonly data = new Map<string, Map<string, number[]>>();

  add(id: string, fields: Record<string, number | undefined>): void {
    let series = this.data.get(id);
    if (!series) this.data.set(id, (series = new Map()));
    for (const [field, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      const values = series.get(field) ?? [];
      values.push(value);
      series.set(field, values);
    }
  }

  /** The median of one field; NaN when the measure never ran. */
  m(id: string, field = 'ms'): number {
    return median(this.data.get(id)?.get(field) ?? []);
  }

  last(id: string, field = 'ms'): number {
    return this.data.get(id)?.get(field)?.at(-1) ?? Number.NaN;
  }

  toJSON(): Record<string, { samples: Record<string, number[]>; medians: Record<string, number> }> {
    const out: Record<string, { samples: Record<string, number[]>; medians: Record<string, number> }> = {};
    for (const [id, series] of this.data) {
      const samples = Object.fromEntries([...series].map(([f, v]) => [f, v.map((x) => round(x, 3))]));
      const medians = Object.fromEntries([...series].map(([f, v]) => [f, round(median(v), 3)]));
      out[id] = { samples, medians };
    }
    return out;
  }
}

export type Unit = 's' | 'MB';

export interface Row {
  measure: string;
  baseline?: { what: string; value: number };
  pgkeeper?: { what: string; value: number };
  unit: Unit;
  /** pgkeeper / baseline. */
  ratio?: number;
  /** The highest ratio (or, with no baseline, value) that meets the target; `text` as the issue says it. */
  target?: { max: number; text: string; strict?: boolean };
  pass?: boolean;
  /** pgkeeper's time / the extraction floor. */
  vsFloor?: number;
}

export function row(r: Omit<Row, 'ratio' | 'pass'>): Row {
  const ratio = r.baseline && r.pgkeeper ? r.pgkeeper.value / r.baseline.value : undefined;
  const judged = ratio ?? r.pgkeeper?.value;
  const pass = r.target && judged !== undefined && Number.isFinite(judged) ? (r.target.strict ? judged < r.target.max : judged <= r.target.max) : undefined;
  return { ...r, ...(ratio !== undefined ? { ratio: round(ratio, 3) } : {}), ...(pass !== undefined ? { pass } : {}), ...(r.vsFloor !== undefined ? { vsFloor: round(r.vsFloor, 2) } : {}) };
}

export function formatValue(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return 'n/a';
  return unit === 's' ? `${(value / 1000).toFixed(2)} s` : `${(value / 1e6).toFixed(value < 10e6 ? 1 : 0)} MB`;
}

function cell(part: { what: string; value: number } | undefined, unit: Unit): string {
  return part ? `${formatValue(part.value, unit)}${part.what ? ` (${part.what})` : ''}` : '';
}

export function markdownTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function comparisonTable(rows: Row[], reps: number): string {
  return markdownTable(
    [`measure (median of ${reps})`, 'bare / baseline', 'pgkeeper', 'ratio', 'target', '÷ floor'],
    rows.map((r) => [
      r.measure,
      cell(r.baseline, r.unit),
      cell(r.pgkeeper, r.unit),
      r.ratio === undefined ? '' : r.ratio.toFixed(2),
      r.target ? `${r.target.text} ${r.pass === undefined ? '?' : r.pass ? '✓' : '✗'}` : '',
      r.vsFloor === undefined ? '' : `${r.vsFloor.toFixed(2)}×`,
    ]),
  );
}
