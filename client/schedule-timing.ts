/**
 * A schedule's timing as a person typed it: Temporal turns `--cron "30 1 * * 1-5"` into structured
 * calendars and `--every 6h` into milliseconds; `schedule describe` writes them back as a cron
 * expression ("30 1 * * MON-FRI") and a duration ("6h").
 */
import type { CalendarSpecDescription, IntervalSpecDescription } from '@temporalio/client';

interface Range {
  start: number | string;
  end: number | string;
  step: number;
}

const short = (value: number | string) => (typeof value === 'string' ? value.slice(0, 3) : String(value));

/** One cron field: `*` for its whole range, else its ranges ("1-5", "0/15", "1,15"). */
function field(ranges: readonly Range[], whole: [number | string, number | string]): string {
  if (ranges.length === 0 || ranges.every((r) => r.start === whole[0] && r.end === whole[1] && r.step === 1)) return '*';
  const span = (r: Range) => (r.start === whole[0] && r.end === whole[1] ? '*' : `${short(r.start)}${r.end === r.start ? '' : `-${short(r.end)}`}`);
  return ranges.map((r) => `${span(r)}${r.step > 1 ? `/${r.step}` : ''}`).join(',');
}

/**
 * As `--cron` reads them: five fields; six with a year last; seven (seconds first, a year last, `*`
 * for any) when the seconds are not 0 — a six-field expression is read as ending in a year.
 */
export function cronText(c: CalendarSpecDescription): string {
  const second = c.second as Range[];
  const onTheMinute = second.length === 1 && second[0]!.start === 0 && second[0]!.end === 0;
  const year = c.year as Range[];
  return [
    ...(onTheMinute ? [] : [field(second, [0, 59])]),
    field(c.minute as Range[], [0, 59]),
    field(c.hour as Range[], [0, 23]),
    field(c.dayOfMonth as Range[], [1, 31]),
    field(c.month as Range[], ['JANUARY', 'DECEMBER']),
    field(c.dayOfWeek as Range[], ['SUNDAY', 'SATURDAY']),
    ...(year.length ? [field(year, [-1, -1])] : onTheMinute ? [] : ['*']),
  ].join(' ');
}

/** "6h", "30m", "1d12h", "1s500ms": the largest units that divide it. */
export function durationText(ms: number): string {
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000], ['ms', 1]];
  let left = ms;
  let text = '';
  for (const [unit, size] of units) {
    const n = Math.floor(left / size);
    if (n > 0) text += `${n}${unit}`;
    left -= n * size;
  }
  return text || '0s';
}

export function timingText(spec: { calendars?: CalendarSpecDescription[]; intervals?: IntervalSpecDescription[] }): string {
  const interval = (i: IntervalSpecDescription) => `every ${durationText(Number(i.every))}${Number(i.offset) ? ` (offset ${durationText(Number(i.offset))})` : ''}`;
  const parts = [...(spec.calendars ?? []).map((c) => `cron "${cronText(c)}"`), ...(spec.intervals ?? []).map(interval)];
  return parts.join(', ') || 'none';
}
