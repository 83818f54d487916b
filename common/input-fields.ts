/**
 * How input errors speak. The same validators serve the Temporal UI (one JSON object: errors name
 * JSON fields) and the CLI (errors name flags), through an InputSurface. Values typed by a user are
 * echoed shortened, so a 200 kB name never lands whole in workflow history.
 */
import { InputError } from './errors.js';

export interface InputSurface {
  /** How a field is named: `confirm` in JSON, `--confirm` on the command line. */
  field(name: string): string;
  /** How a field is set to a value: `"confirm": "app"`, or `--confirm app`. */
  setting(name: string, value: string | number | boolean): string;
}

export const jsonSurface: InputSurface = {
  field: (name) => name,
  setting: (name, value) => `"${name}": ${JSON.stringify(value)}`,
};

const MAX_ECHO = 60;

/** A user's value as JSON, cut to a readable length: `"aaaa…" (200000 characters)`. */
export function quoteInput(value: unknown): string {
  if (typeof value === 'string' && value.length > MAX_ECHO) {
    return `${JSON.stringify(value.slice(0, MAX_ECHO))}… (${value.length} characters)`;
  }
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_ECHO + 2 ? `${text.slice(0, MAX_ECHO)}… (${text.length} characters)` : text;
}

/** Edit distance, case-insensitive, for "did you mean". */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[y.length]!;
}

/** The known name closest to `name`, if it is close enough to be a typo (within `maxDistance` edits, by default a third of its length). */
export function nearest(name: string, known: readonly string[], maxDistance?: number): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    // Names further apart in length than any typo are passed over unmeasured: a field name of a
    // megabyte (pasted by mistake) would otherwise hold a workflow task for seconds.
    if (Math.abs(name.length - candidate.length) > (maxDistance ?? Math.max(2, Math.floor(candidate.length / 3)))) continue;
    const d = distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== undefined && bestDistance <= (maxDistance ?? Math.max(2, Math.floor(best.length / 3))) ? best : undefined;
}

/**
 * Refuses an object that is not a plain object, or that has a field outside `known`. A field set to
 * null counts as left out (JSON's "no value", as a form or a script may send it): its default applies.
 */
export function checkFields(input: unknown, known: readonly string[], what: string, example: string, surface: InputSurface = jsonSurface): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InputError(`${what} takes one object, e.g. ${example}; got ${quoteInput(input)}`);
  }
  for (const key of Object.keys(input)) {
    if (known.includes(key)) continue;
    const guess = nearest(key, known);
    throw new InputError(
      `unknown field ${quoteInput(key)} in the input of ${what}` +
        (guess ? `; did you mean "${surface.field(guess)}"?` : `; known fields: ${known.map((k) => `"${surface.field(k)}"`).join(', ')}`),
    );
  }
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null));
}

/**
 * Whether a run's inputs after the first carry anything: a run takes one object, and a field in a
 * second would be ignored. Empty ones (an SDK's trailing undefined or null) carry nothing.
 */
export function hasExtraInputs(inputs: readonly unknown[]): boolean {
  return inputs.slice(1).some((input) => input !== undefined && input !== null);
}
