/** Parsers of option values for commander: a bad value is one usage line naming the option. */
import { InvalidArgumentError } from 'commander';

/**
 * Comma-separated names, and repeatable: `--include a --include b` takes both. An empty one (an
 * unset shell variable) is refused: no pattern at all means every database.
 */
export function names(value: string, previous: string[] | undefined): string[] {
  const given = value.split(',').map((v) => v.trim());
  if (given.some((v) => v === '')) throw new InvalidArgumentError('it holds an empty name (an unset shell variable?); give database names or * patterns, comma-separated');
  return [...(previous ?? []), ...given];
}

export function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}
