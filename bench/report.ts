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

  /** Every sample of one field, in the order taken. */
  values(id: string, field = 'ms'): number[] {
    return [...(this.data.get(id)?.get(field) ?? [])];
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

/** One side of a comparison: its median, and the samples it is the median of (for the interval). */
export interface Side {
  value: number;
  samples?: number[];
}

export interface Row {
  measure: string;
  baseline?: Side;
  pgkeeper?: Side;
  unit: Unit;
  /** pgkeeper / baseline. */
  ratio?: number;
  /** A 95% bootstrap interval of the ratio: how far the samples' spread lets it move. */
  interval?: [number, number];
  /** The highest ratio (or, with no baseline, value) that meets the target; `text` as the issue says it. */
  target?: { max: number; text: string; strict?: boolean };
  pass?: boolean;
  /** pgkeeper's time / the extraction floor. */
  vsFloor?: number;
}

export function row(r: Omit<Row, 'ratio' | 'pass' | 'interval'>): Row {
  const ratio = r.baseline && r.pgkeeper ? r.pgkeeper.value / r.baseline.value : undefined;
  const judged = ratio ?? r.pgkeeper?.value;
  const pass = r.target && judged !== undefined && Number.isFinite(judged) ? (r.target.strict ? judged < r.target.max : judged <= r.target.max) : undefined;
  const interval = ratioInterval(r.baseline?.samples, r.pgkeeper?.samples);
  const { baseline, pgkeeper, ...rest } = r;
  return {
    ...rest,
    ...(baseline ? { baseline: withoutSamples(baseline) } : {}),
    ...(pgkeeper ? { pgkeeper: withoutSamples(pgkeeper) } : {}),
    ...(ratio !== undefined && Number.isFinite(ratio) ? { ratio: round(ratio, 3) } : {}),
    ...(interval ? { interval } : {}),
    ...(pass !== undefined ? { pass } : {}),
    ...(r.vsFloor !== undefined && Number.isFinite(r.vsFloor) ? { vsFloor: round(r.vsFloor, 2) } : {}),
  };
}

/** The samples are in the results file already, under `measures`. */
function withoutSamples({ value }: Side): Side {
  return { value };
}

/**
 * The 2.5th and 97.5th percentiles of the ratio of medians over 2,000 resamplings (with
 * replacement) of both sides: with a handful of noisy samples a ratio near its target can fall on
 * either side of it from one run to the next, and this says how near is too near to tell.
 * Seeded, so one results file always gives the same interval.
 */
export function ratioInterval(baseline: number[] | undefined, pgkeeper: number[] | undefined, rounds = 2000): [number, number] | undefined {
  if (!baseline || !pgkeeper || baseline.length < 3 || pgkeeper.length < 3) return undefined;
  let seed = 0x9e3779b9;
  const random = () => {
    // xorshift32: plenty for resampling, and the same sequence every time.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const resample = (xs: number[]) => median(xs.map(() => xs[Math.floor(random() * xs.length)]!));
  const ratios = Array.from({ length: rounds }, () => resample(pgkeeper) / resample(baseline)).sort((a, b) => a - b);
  return [round(ratios[Math.floor(rounds * 0.025)]!, 3), round(ratios[Math.ceil(rounds * 0.975) - 1]!, 3)];
}

export function formatValue(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return 'n/a';
  return unit === 's' ? `${(value / 1000).toFixed(2)} s` : `${(value / 1e6).toFixed(value < 10e6 ? 1 : 0)} MB`;
}

function cell(part: Side | undefined, unit: Unit): string {
  return part ? formatValue(part.value, unit) : '';
}

export function markdownTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function comparisonTable(rows: Row[], reps: number): string {
  return markdownTable(
    [`measure (median of ${reps})`, 'bare / baseline', 'pgkeeper', 'ratio', '95% interval', 'target', '÷ floor'],
    rows.map((r) => [
      r.measure,
      cell(r.baseline, r.unit),
      cell(r.pgkeeper, r.unit),
      r.ratio === undefined ? '' : r.ratio.toFixed(2),
      r.interval ? `${r.interval[0].toFixed(2)}–${r.interval[1].toFixed(2)}` : '',
      r.target ? `${r.target.text} ${r.pass === undefined ? '?' : r.pass ? '✓' : '✗'}` : '',
      r.vsFloor === undefined ? '' : `${r.vsFloor.toFixed(2)}×`,
    ]),
  );
}
