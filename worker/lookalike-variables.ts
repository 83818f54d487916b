/**
 * Variables set in the worker's environment that pgkeeper does not read but that look like one it
 * does: `ENCRYPT_RECIPIENT=age1…` would otherwise start a worker that stores every backup
 * unencrypted, saying only "encryption": "off". Warned about, not refused: an environment holds
 * other programs' variables too, and only names that share a first word with pgkeeper's are looked at.
 */
import { CONFIG_VARIABLES, UP_PORT_VARIABLES } from '../common/config.js';
import { nearest } from '../common/input-fields.js';
import { TEMPORAL_SECURITY_VARIABLES } from '../common/temporal-security.js';

/** What may be meant; with those of `npm run up`, which the worker it starts inherits. */
const TAKEN = [...CONFIG_VARIABLES, ...TEMPORAL_SECURITY_VARIABLES.taken, ...UP_PORT_VARIABLES, 'TEMPORAL_CLI'];
/** Refused by name when set (temporal-security.ts): never suggested. */
const KNOWN = [...TAKEN, ...TEMPORAL_SECURITY_VARIABLES.refused];
const firstWord = (name: string) => name.split('_')[0]!;
const FIRST_WORDS = new Set(KNOWN.map(firstWord));

/** One warning per lookalike: what it is not, and the variable meant (or where compression is chosen). */
export function lookalikeVariables(env: Record<string, string | undefined>): string[] {
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (KNOWN.includes(name) || env[name] === undefined) continue;
    if (/^(?:[A-Z]+_)?COMPRESS/.test(name) && (name.startsWith('COMPRESS') || FIRST_WORDS.has(firstWord(name)))) {
      warnings.push(`${name} is not a pgkeeper setting (ignored): compression is chosen per run, with --compression (backup, schedule create) or the workflow input's "compression"`);
      continue;
    }
    if (!FIRST_WORDS.has(firstWord(name))) continue;
    // A known name cut short (ENCRYPT_RECIPIENT, AGE_IDENTITY, DB_PASS), or one two typos away at most.
    const meant = (name.includes('_') ? TAKEN.find((known) => known.startsWith(name)) : undefined) ?? nearest(name, TAKEN, 2);
    if (meant) warnings.push(`${name} is not a pgkeeper setting (ignored); did you mean ${meant}?`);
  }
  return warnings;
}
