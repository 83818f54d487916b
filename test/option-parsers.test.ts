/**
 * Option values as commander hands them to the parsers: `--include`/`--exclude` decide which
 * databases a cluster backup takes, so a repeated option adds up (it kept only the last one) and an
 * empty name (an unset shell variable, which left no pattern: every database) is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { integer, names } from '../client/option-parsers.js';

function parsed(args: string[]): { include?: string[]; exclude?: string[]; jobs?: number } {
  const program = new Command()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .option('--include <names>', '', names)
    .option('--exclude <names>', '', names)
    .option('--jobs <n>', '', integer(1, 64));
  return program.parse(args, { from: 'user' }).opts();
}

describe('option parsers', () => {
  it('--include and --exclude: comma-separated, and repeated options add up', () => {
    assert.deepEqual(parsed(['--include', 'app_a', '--include', 'app_b, reports_*']), { include: ['app_a', 'app_b', 'reports_*'] });
    assert.deepEqual(parsed(['--exclude', 'slow*', '--exclude', 'b2']), { exclude: ['slow*', 'b2'] });
    assert.deepEqual(parsed([]), {});
  });

  it('an empty name is refused, naming the option and the likely cause', () => {
    for (const value of ['', ' ', 'a,,b', 'a,']) {
      assert.throws(() => parsed(['--include', 'app', '--include', value]), (err: Error) => {
        assert.equal(err.message, `error: option '--include <names>' argument '${value}' is invalid. it holds an empty name (an unset shell variable?); give database names or * patterns, comma-separated`);
        return true;
      });
    }
  });

  it('whole numbers in range only', () => {
    assert.deepEqual(parsed(['--jobs', '4']), { jobs: 4 });
    for (const value of ['0', '65', '2.5', 'x']) assert.throws(() => parsed(['--jobs', value]), /expected a whole number from 1 to 64/);
  });
});
