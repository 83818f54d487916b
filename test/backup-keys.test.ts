/** Keys and manifests: the same layout on every store, read back exactly; damaged manifests say why. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { makeBackupId, parseBackupId } from '../common/backup-id.js';
import { backupKeys, classifyKey, GLOBALS_FOLDER } from '../common/backup-keys.js';
import { filterChain } from '../common/filters.js';
import { makeGlobalsId } from '../common/globals.js';
import { ManifestError, parseManifest } from '../common/manifest.js';
import { validateDatabaseName } from '../common/names.js';

const RECIPIENT = 'age1xk20xk5apy9glu3hzr0u8kzdddyqzzcvh3uyjq5h2th52hu75ensag8zx6';

describe('backup keys and manifests', () => {
  it('every key of a backup is classified back to its folder, id and part, for any database name', () => {
    const name = fc.string({ minLength: 1, maxLength: 30 }).filter((n) => {
      try {
        validateDatabaseName(n);
        return true;
      } catch {
        return false;
      }
    });
    fc.assert(
      fc.property(name, fc.constantFrom('zstd', 'gzip', 'none'), fc.boolean(), (db, kind, encrypted) => {
        const id = makeBackupId(db, Date.UTC(2026, 10, 24), '1a2b3c4d-0000');
        const keys = backupKeys(db, id, filterChain(kind === 'none' ? { kind } : { kind, level: 1 }, encrypted ? [RECIPIENT] : []));
        for (const [key, part] of [[keys.archive, 'archive'], [keys.sidecar, 'sidecar'], [keys.manifest, 'manifest'], [keys.facts, 'facts'], [keys.drillProof, 'drill'], [keys.pin('0192-ab'), 'pin']] as const) {
          assert.deepEqual(classifyKey(key), { folder: db, id, part, ...(part === 'pin' ? { pin: '0192-ab' } : {}) }, key);
        }
        assert.equal(keys.archive, `${db}/${id}.dump${kind === 'zstd' ? '.zst' : ''}${encrypted ? '.age' : ''}`);
      }),
    );
    const g = makeGlobalsId(Date.UTC(2026, 10, 24), 'abcdef01');
    assert.equal(backupKeys(GLOBALS_FOLDER, g, filterChain({ kind: 'none' }, [RECIPIENT])).archive, `.globals/${g}.sql.age`);
    assert.equal(classifyKey('app/notes.txt'), undefined);
    assert.equal(classifyKey('app/app_20261101_020000.dump'), undefined, 'seed-style files are not pgkeeper backups');
    // Names PostgreSQL allows that a regular expression's `.` does not match (line and paragraph separators).
    for (const db of ['ls\u2028x', 'ps\u2029x']) {
      const id = makeBackupId(db, Date.UTC(2026, 10, 24), '1a2b3c4d-0000');
      assert.deepEqual(classifyKey(backupKeys(db, id, []).manifest), { folder: db, id, part: 'manifest' });
      assert.equal(parseBackupId(id).database, db);
    }
  });

  it('manifests of version 1 still read; broken ones say what is wrong', () => {
    const v1 = { manifestVersion: 1, id: 'app-20261101T020000Z-1a2b3c4d', database: 'app', format: 'custom', compressLevel: 1, file: 'app-20261101T020000Z-1a2b3c4d.dump', sizeBytes: 10, sha256: 'a'.repeat(64), startedAt: '2026-11-01T02:00:00Z', toc: { entries: 5, tableDataEntries: 1 }, tables: [] };
    const read = parseManifest(JSON.stringify(v1), v1.id);
    assert.equal(read.kind, 'database');
    assert.deepEqual(read.files, [{ name: v1.file, sizeBytes: 10, sha256: 'a'.repeat(64) }]);
    assert.deepEqual(read.filters, []);
    assert.equal(read.kind === 'database' && read.compression, 'gzip:1');
    for (const [text, reason] of [
      ['garbage', /not valid JSON/],
      [JSON.stringify({ ...v1, id: 'other' }), /names backup "other"/],
      [JSON.stringify({ ...v1, manifestVersion: 0 }), /unknown manifestVersion 0/],
      [JSON.stringify({ ...v1, manifestVersion: '2' }), /unknown manifestVersion "2"/],
      [JSON.stringify({ ...v1, manifestVersion: 2, files: [] }), /lists no files/],
      [JSON.stringify({ ...v1, manifestVersion: 2, files: v1 && [{ name: 'x', sizeBytes: 1, sha256: 'b'.repeat(64) }], filters: [{ filter: 'zstd', level: '3' }] }), /a step of the filter chain is malformed/],
      [JSON.stringify({ ...v1, manifestVersion: 2, files: [{ name: 'x', sizeBytes: 1, sha256: 'b'.repeat(64) }], filters: [null] }), /a step of the filter chain is malformed: null/],
      [JSON.stringify({ ...v1, manifestVersion: 2, files: [{ name: 'x', sizeBytes: 1, sha256: 'b'.repeat(64) }], filters: [{ level: 3 }] }), /a step of the filter chain is malformed/],
      [JSON.stringify({ ...v1, manifestVersion: 99, id: 'other' }), /names backup "other"/],
    ] as const) {
      assert.throws(() => parseManifest(text, v1.id), (err: Error) => err instanceof ManifestError && !err.newer && reason.test(err.message) && !err.message.includes('\n'));
    }
    // Sound, but a newer pgkeeper's: said apart from damage, with the fix.
    for (const [text, reason] of [
      [JSON.stringify({ ...v1, manifestVersion: 4 }), /^written by a newer pgkeeper \(manifestVersion 4; this one reads up to 3\): upgrade pgkeeper on the worker to read it$/],
      [JSON.stringify({ ...v1, kind: 'globals', manifestVersion: 3 }), /^written by a newer pgkeeper \(manifestVersion 3; this one reads up to 2\)/],
      [JSON.stringify({ ...v1, manifestVersion: 2, files: [{ name: 'x', sizeBytes: 1, sha256: 'b'.repeat(64) }], filters: [{ filter: 'lz4' }] }), /^written by a newer pgkeeper \(filter "lz4"; this one knows "zstd" and "age"\): upgrade pgkeeper on the worker to read it$/],
    ] as const) {
      assert.throws(() => parseManifest(text, v1.id), (err: Error) => err instanceof ManifestError && err.newer && reason.test(err.message));
    }
  });

  it("a manifest's server is kept only when well-formed, so readers may trust its fields", () => {
    const v1 = { manifestVersion: 1, id: 'app-20261101T020000Z-1a2b3c4d', database: 'app', file: 'app-20261101T020000Z-1a2b3c4d.dump', sizeBytes: 10, sha256: 'a'.repeat(64), startedAt: '2026-11-01T02:00:00Z' };
    const serverOf = (server: unknown) => {
      const read = parseManifest(JSON.stringify({ ...v1, server }), v1.id);
      return read.kind === 'database' ? read.server : 'globals';
    };
    const good = { version: '15.19', versionNum: 150019, systemIdentifier: '7312345678901234567' };
    assert.deepEqual(serverOf(good), good);
    assert.equal(serverOf(undefined), null);
    assert.equal(serverOf('15.19'), null);
    assert.equal(serverOf({ version: '15.19' }), null);
    assert.deepEqual(serverOf({ ...good, systemIdentifier: 7312345678901234567 }), { version: '15.19', versionNum: 150019 });
    assert.deepEqual(serverOf({ ...good, systemIdentifier: { toString: 1 } }), { version: '15.19', versionNum: 150019 });
  });
});
