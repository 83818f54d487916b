/**
 * What the CLI's listings and run results print: a database name or a failure's reason holding characters a terminal
 * acts on or reorders (controls, bidirectional overrides, line separators) is shown escaped, so it
 * can neither break a table's line nor print as other text; every other character as it is.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { printBackupResult } from '../client/commands/backup.js';
import { state } from '../client/commands/status.js';
import type { DatabaseStatus } from '../client/status.js';
import { formatDuration, showable, showLines, table } from '../client/format.js';
import { cliHint } from '../client/cli-surface.js';

describe('CLI listings', () => {
  it('escape controls, bidirectional marks and overrides, and line separators; leave every other character alone', () => {
    assert.equal(showable('app\u202Egpj.exe'), 'app\\u202egpj.exe');
    assert.equal(showable('a\u009B31mred'), 'a\\u009b31mred');
    assert.equal(showable('one\u2028two\u2029three'), 'one\\u2028two\\u2029three');
    assert.equal(showable('x\u2066y\u2069\u200E\u200F\u061C'), 'x\\u2066y\\u2069\\u200e\\u200f\\u061c');
    assert.equal(showable('reason:\tpg_dump failed\nat line 2\u001b[0m\u007f'), 'reason:\\tpg_dump failed\\nat line 2\\u001b[0m\\u007f');
    for (const text of ['app', 'données_été', 'תנועות', 'قاعدة', '数据库', 'app 💥', 'a"b\'c;d\\e', '\u00a0\u00ad\u200d']) assert.equal(showable(text), text);
    // Two names that print alike: the decomposed one shows its marks; invisible ones show.
    assert.equal(showable('cafe\u0301'), 'cafe\\u0301');
    assert.equal(showable('caf\u00e9'), 'café');
    assert.equal(showable('app\u200b'), 'app\\u200b');
    assert.equal(showable('\ufeffapp'), '\\ufeffapp');
    assert.deepEqual(table([['A', 'B'], ['cafe\u0301', 'x'], ['café', 'y']]).split('\n'), ['A           B', 'cafe\\u0301  x', 'café        y']);
  });

  it('a table keeps one line per row, aligned on what it shows', () => {
    const printed = table([
      ['DATABASE', 'STATUS'],
      ['app\u202E', 'failed:\tdisk full\nretry'],
      ['b', 'ok'],
    ]);
    assert.deepEqual(printed.split('\n'), ['DATABASE   STATUS', 'app\\u202e  failed:\\tdisk full\\nretry', 'b          ok']);
  });

  it('a run\'s result names a database as listings do: each line escaped, one line each', () => {
    assert.equal(showLines(['backup app\u202Egpj completed', '  sha256  abc']), 'backup app\\u202egpj completed\n  sha256  abc\n');
    let written = '';
    const out = new Writable({
      write(chunk: Buffer, _encoding, next) {
        written += chunk.toString();
        next();
      },
    });
    printBackupResult({ status: 'skipped', database: 'app\u202Egpj', reason: 'a backup of "app\u202Egpj" is already running' }, out);
    assert.equal(written, 'a backup of "app\\u202egpj" is already running\n');
  });
});

describe('status STATE column', () => {
  const healthy: DatabaseStatus = {
    kind: 'database',
    database: 'app',
    lastRun: { at: '2026-12-07T02:00:00.000Z', outcome: 'completed', workflowId: 'w' },
    lastSuccessfulBackup: { at: '2026-12-07T02:00:05.000Z', backupId: 'app-20261207T020000Z-0a0b0c0d' },
    damaged: [],
    missingIn: [],
    schedule: { id: 's', nextRun: '2026-12-08T02:00:00.000Z', intervalMs: 86_400_000, paused: false },
    stale: false,
    unreachable: [],
    gone: null,
    lastProvenRestore: null,
    lastDrill: null,
  };
  it('a store that did not answer shows STORE DOWN, below every problem that is known', () => {
    const down = { ...healthy, unreachable: [{ store: 's3://b/p', reason: 'timed out' }] };
    assert.equal(state(healthy), 'ok');
    assert.equal(state(down), 'STORE DOWN');
    assert.equal(state({ ...down, stale: true }), 'STALE');
    assert.equal(state({ ...down, lastSuccessfulBackup: null }), 'NEVER BACKED UP');
    assert.equal(state({ ...down, damaged: [{ backupId: 'x', reason: 'r' }] }), 'DAMAGED');
  });

  it('a backup only a newer pgkeeper reads is said so, not DAMAGED (it is to be kept, and pgkeeper upgraded); beside real damage, DAMAGED', () => {
    const newer = { backupId: 'x', reason: 'written by a newer pgkeeper', newer: true as const };
    assert.equal(state({ ...healthy, damaged: [newer] }), 'NEEDS NEWER PGKEEPER');
    assert.equal(state({ ...healthy, damaged: [newer, { backupId: 'y', reason: 'archive y is missing' }] }), 'DAMAGED');
  });
});

describe('durations', () => {
  it('are rounded once, before they are split into units', () => {
    const cases: [number, string][] = [
      [0.4, '0 ms'],
      [999.4, '999 ms'],
      [999.6, '1.0 s'],
      [1_000, '1.0 s'],
      [119_940, '119.9 s'],
      [119_960, '2 min 0 s'],
      [599_600, '10 min 0 s'],
      [3_599_400, '59 min 59 s'],
      [3_599_600, '1 h 0 min'],
      [5_430_000, '1 h 31 min'],
      [3_629_500, '1 h 0 min'],
      [86_400_000, '24 h 0 min'],
    ];
    for (const [ms, shown] of cases) assert.equal(formatDuration(ms), shown, `${ms} ms`);
  });
});

describe('hints after a failed run', () => {
  it('roles or tablespaces missing: the flag that helps, and not one already given or that the command does not take', () => {
    assert.equal(cliHint('RolesMissing', { target: 'app' }), 'create the roles, or add --globals latest, or --no-owner --no-privileges');
    assert.equal(
      cliHint('RolesMissing', { target: 'app', globals: 'latest' }),
      'the globals backup applied (--globals latest) does not hold them: it is older than they are; create the roles, or --no-owner --no-privileges',
    );
    assert.equal(cliHint('RolesMissing'), 'create the roles on this server (a restore with --globals latest makes them from the newest globals backup)', 'a drill has no --globals');
    assert.equal(cliHint('TablespacesMissing', { target: 'app' }), 'create the tablespaces, or add --globals latest (where their directories exist), or --no-tablespaces');
    assert.match(cliHint('TablespacesMissing', { target: 'app', globals: 'latest' }) ?? '', /^the globals backup applied did not make them \(not in it, or their directories missing on this server\); create the tablespaces, or add --no-tablespaces$/);
    assert.match(cliHint('TablespacesMissing') ?? '', /^create the tablespaces on this server/, 'a drill has no --no-tablespaces');
    assert.equal(cliHint('TargetExists', { target: 'app' }), 'restore into another --target, or replace it: --replace --confirm app');
    assert.equal(cliHint('DatabaseMissing', { target: 'app', replace: true }), 'to restore into a new database of that name, leave out --replace');
    assert.equal(cliHint('DatabaseMissing', { target: 'app' }), undefined, 'a restore that creates: no --replace to leave out');
    assert.equal(cliHint('TargetExists'), undefined);
  });
});
