/** Strict inputs: unknown fields refused with the nearest known one, values echoed shortened, flags named on the CLI. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cliSurface } from '../client/cli-surface.js';
import { normalizeBackupInput } from '../common/backup-input.js';
import { clusterSelection, normalizeClusterInput, selectDatabases } from '../common/cluster-input.js';
import { normalizeDrillInput } from '../common/drill-input.js';
import { InputError } from '../common/errors.js';
import { parseCompression } from '../common/filters.js';
import { quoteInput } from '../common/input-fields.js';
import { normalizeRestoreInput } from '../common/restore-input.js';
import { normalizeRetentionInput } from '../common/retention-input.js';
import type { ServerDatabases } from '../common/types.js';

const refused = (run: () => unknown, message: RegExp) =>
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof InputError, String(err));
    assert.match(err.message, message);
    return true;
  });

describe('input validation', () => {
  it('unknown fields are refused, naming the nearest known field', () => {
    refused(() => normalizeBackupInput({ database: 'app', compresslevel: 9 }), /unknown field "compresslevel" in the input of backupDatabase; did you mean "compressLevel"\?/);
    refused(() => normalizeRestoreInput({ jbos: 8 }), /unknown field "jbos" in the input of restoreDatabase; did you mean "jobs"\?/);
    refused(() => normalizeRestoreInput({ backup: 'latest', database: 'app', target: 'x', traget: 'y' }), /did you mean "target"\?/);
    refused(() => normalizeClusterInput({ exlude: ['a'] }), /did you mean "exclude"\?/);
    refused(() => normalizeDrillInput({ database: 'app', job: 2 }), /did you mean "jobs"\?/);
    refused(() => normalizeRetentionInput({ database: 'app', dryrun: true }), /did you mean "dryRun"\?/);
    refused(() => normalizeBackupInput({ database: 'app', retention: { keepDayly: 7 } }), /did you mean "keepDaily"\?/);
    // Nothing close: the known fields are listed instead.
    refused(() => normalizeBackupInput({ database: 'app', zzzzzzzz: 1 }), /unknown field "zzzzzzzz".*known fields: "database", "compression"/);
  });

  it('values are echoed shortened: a 200 kB name does not land whole in history', () => {
    const huge = 'x'.repeat(200_000);
    for (const run of [
      () => normalizeBackupInput({ database: huge }),
      () => normalizeRestoreInput({ backup: huge, target: 'app' }),
      () => normalizeRestoreInput({ backup: 'latest', database: 'app', target: huge }),
      () => normalizeBackupInput({ database: 'app', [huge]: 1 }),
      () => normalizeBackupInput({ database: 'app', compression: huge }),
    ]) {
      assert.throws(run, (err: Error) => err.message.length < 400 && /200000 characters/.test(err.message));
    }
    assert.equal(quoteInput('short'), '"short"');
  });

  it('the CLI surface names flags, the JSON surface names fields', () => {
    refused(() => normalizeRestoreInput({ backup: 'latest', database: 'app', target: 'app', mode: 'replace' }), /"mode": "replace" replaces .* add "confirm": "app" to proceed/);
    refused(() => normalizeRestoreInput({ backup: 'latest', database: 'app', target: 'app', mode: 'replace' }, cliSurface), /^--replace replaces the existing database "app" .* add --confirm app to proceed$/);
    refused(() => normalizeRestoreInput({ backup: 'latest', target: 'app' }, cliSurface), /^backup "latest" needs --database: whose newest backup to restore, e.g. --database app$/);
    refused(() => normalizeBackupInput({ database: 'app', compression: 'lz4' }, cliSurface), /^--compression must be/);
  });

  it('a name of the wrong type says so, rather than that it is missing', () => {
    refused(() => normalizeRestoreInput({ backup: 'latest', database: 'app', target: 123 }), /^target must be a string, the name of a PostgreSQL database such as "app"; got 123$/);
    refused(() => normalizeRestoreInput({ backup: 'latest', database: ['app'], target: 'x' }), /^database must be a string, .*; got \["app"\]$/);
    refused(() => normalizeRestoreInput({ backup: 'latest', database: 'app' }), /^target is required/);
  });

  it('confirm without replace is refused, not ignored: the replace was most likely forgotten', () => {
    refused(() => normalizeRestoreInput({ backup: 'latest', database: 'app', target: 'app', confirm: 'app' }), /^confirm goes with "mode": "replace": to replace "app" add "mode": "replace"; .* leave confirm out$/);
    refused(() => normalizeRestoreInput({ backup: 'latest', database: 'app', target: 'app', mode: 'create', confirm: 'app' }, cliSurface), /^--confirm goes with --replace: to replace "app" add --replace; to restore into a new database leave --confirm out$/);
    assert.equal(normalizeRestoreInput({ backup: 'latest', database: 'app', target: 'app', mode: 'replace', confirm: 'app' }).mode, 'replace');
  });

  it("a target shaped like pgkeeper's own staging or drill names (which pgkeeper may drop) is refused; names merely near them are not", () => {
    for (const target of ['app_restoring_0123abcd', 'pgkeeper_drill_deadbeef']) {
      refused(() => normalizeRestoreInput({ backup: 'latest', database: 'app', target }), /has the shape of pgkeeper's own staging names .* restore into another name$/);
    }
    for (const target of ['app_restoring', 'app_restoring_0123abcdX', 'my_pgkeeper_drill_deadbeef_copy', 'app_pre_restore_20261204']) {
      assert.equal(normalizeRestoreInput({ backup: 'latest', database: 'app', target }).target, target);
    }
  });

  it('a field set to null counts as left out: its default applies, a required one is missing', () => {
    const withNulls = normalizeBackupInput({ database: 'app', compression: null, verify: null, retention: null });
    assert.deepEqual(withNulls, normalizeBackupInput({ database: 'app' }));
    assert.equal(normalizeRestoreInput({ backup: 'latest', database: 'app', target: 'x', jobs: null }).jobs, normalizeRestoreInput({ backup: 'latest', database: 'app', target: 'x' }).jobs);
    refused(() => normalizeRestoreInput({ backup: 'latest', database: 'app', target: null }), /^target is required/);
    // Inside a retention policy too; a rule badly given is named by the field the input calls it.
    assert.deepEqual(normalizeBackupInput({ database: 'app', retention: { keepLast: null, keepDaily: 7 } }).retention, { keepDaily: 7 });
    assert.deepEqual(normalizeRetentionInput({ database: 'app', policy: { keepLast: 2, maxAgeDays: null } }).policy, { keepLast: 2 });
    refused(() => normalizeRetentionInput({ database: 'app', policy: { keepLast: -1 } }), /^policy\.keepLast /);
    refused(() => normalizeRetentionInput({ database: 'app', policy: { keepLats: 1 } }), /^unknown field "keepLats" in the input of policy; did you mean "keepLast"\?/);
  });

  it('compression: zstd and gzip levels, none, and the older compressLevel', () => {
    assert.deepEqual(parseCompression(undefined), { kind: 'zstd', level: 1 });
    assert.deepEqual(parseCompression('zstd:9'), { kind: 'zstd', level: 9 });
    assert.deepEqual(parseCompression('gzip'), { kind: 'gzip', level: 6 });
    assert.deepEqual(parseCompression('none'), { kind: 'none' });
    refused(() => parseCompression('zstd:20'), /zstd levels go from 1 to 19/);
    refused(() => parseCompression('gzip:10'), /gzip levels go from 0 to 9/);
    assert.deepEqual(normalizeBackupInput({ database: 'app', compressLevel: 3 }).compression, { kind: 'gzip', level: 3 });
    refused(() => normalizeBackupInput({ database: 'app', compressLevel: 3, compression: 'zstd' }), /not both/);
  });
});

describe('cluster selection', () => {
  it('* stands for any characters, line breaks included (PostgreSQL allows them in a name)', () => {
    const names = ['app', 'app_line\nbreak', 'app_ls\u2028x', 'reports'];
    assert.deepEqual(selectDatabases(names, ['app*'], []), ['app', 'app_line\nbreak', 'app_ls\u2028x']);
    assert.deepEqual(selectDatabases(names, ['*'], ['*break', 'app_ls*']), ['app', 'reports']);
  });

  it('covers neither PostgreSQL\'s templates nor pgkeeper\'s own staging and drill databases, but a template or a database of someone else\'s named like them', () => {
    // A template of someone's own (tmpl) holds their data: it is backed up; PostgreSQL's own are not.
    const databases = ['app', 'template0', 'template1', 'app_restoring_0123abcd', 'pgkeeper_drill_0123abcd', 'tmpl', 'orders_restoring_20250101', 'locked_tmpl'];
    // One kept closed to connections (as templates are kept safe) could not be dumped: left out, not failed every night.
    const server = { server: 'h:5432', databases, templates: ['template0', 'template1', 'tmpl', 'locked_tmpl'], closedTemplates: ['template0', 'locked_tmpl'], staging: ['app_restoring_0123abcd', 'pgkeeper_drill_0123abcd'] };
    const chosen = ['app', 'tmpl', 'orders_restoring_20250101'];
    assert.deepEqual(clusterSelection(server, [], []), { candidates: chosen, selected: chosen });
    // From a worker older than the mark: told by name.
    assert.deepEqual(clusterSelection({ ...server, staging: undefined }, [], []).selected, ['app', 'tmpl']);
    // An answer from a worker of late November has no templates: none is taken for one.
    assert.deepEqual(clusterSelection({ server: 'h:5432', databases: ['app', 'tmpl'] } as ServerDatabases, [], []).selected, ['app', 'tmpl']);
  });
});
