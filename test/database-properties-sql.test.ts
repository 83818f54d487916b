/** The SQL that gives a restored database its source's properties (pure; the restore tests prove it on a real server). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { propertyStatements, rolesNeeded, setClause, splitSettingList } from '../common/database-properties-sql.js';
import type { DatabaseProperties } from '../common/manifest.js';

const props: DatabaseProperties = {
  owner: 'app_owner',
  encoding: 'UTF8',
  collate: 'C.UTF-8',
  ctype: 'C.UTF-8',
  localeProvider: 'libc',
  icuLocale: null,
  connectionLimit: -1,
  grants: [
    { grantee: null, privileges: ['TEMPORARY'], grantable: [] },
    { grantee: 'app_owner', privileges: ['CREATE', 'TEMPORARY', 'CONNECT'], grantable: ['CREATE', 'TEMPORARY', 'CONNECT'] },
    { grantee: 'reader', privileges: ['CONNECT', 'CREATE'], grantable: [] },
  ],
  settings: ['work_mem=7MB', 'search_path=app, "$user", public'],
  roleSettings: [{ role: 'reader', settings: ['search_path=app, public'] }],
  comment: "it's ours",
};

describe('database properties SQL', () => {
  it('splits list settings as PostgreSQL stores them, quotes included', () => {
    assert.deepEqual(splitSettingList('app, "$user", public'), ['app', '$user', 'public']);
    assert.deepEqual(splitSettingList('"a ""b"" c",d'), ['a "b" c', 'd']);
    assert.deepEqual(splitSettingList(''), []);
    assert.equal(setClause('search_path=app, "$user", public'), `set "search_path" to 'app', '$user', 'public'`);
    assert.equal(setClause("app.note=it's"), `set "app"."note" to 'it''s'`);
  });

  it('owner, privileges from nothing, settings, role settings and comment; noOwner and noPrivileges leave theirs out', () => {
    const all = propertyStatements('s_restoring_00000000', props, { noOwner: false, noPrivileges: false, comment: props.comment });
    assert.deepEqual(all, [
      'alter database "s_restoring_00000000" owner to "app_owner"',
      'revoke all on database "s_restoring_00000000" from public',
      'grant TEMPORARY on database "s_restoring_00000000" to public',
      'grant CONNECT, CREATE on database "s_restoring_00000000" to "reader"',
      `alter database "s_restoring_00000000" set "work_mem" to '7MB'`,
      `alter database "s_restoring_00000000" set "search_path" to 'app', '$user', 'public'`,
      `alter role "reader" in database "s_restoring_00000000" set "search_path" to 'app', 'public'`,
      `comment on database "s_restoring_00000000" is 'it''s ours'`,
    ]);
    const bare = propertyStatements('s', props, { noOwner: true, noPrivileges: true, comment: props.comment });
    assert.ok(!bare.some((s) => /owner to|grant|revoke/.test(s)), bare.join('\n'));
    assert.deepEqual(rolesNeeded(props, { noOwner: false, noPrivileges: false }).sort(), ['app_owner', 'reader']);
    assert.deepEqual(rolesNeeded(props, { noOwner: true, noPrivileges: false }).sort(), ['reader'], 'per-role settings need their role');
    assert.deepEqual(rolesNeeded(props, { noOwner: true, noPrivileges: true }), [], 'without owner and privileges no role is needed');
    const absent = propertyStatements('s', props, { noOwner: true, noPrivileges: true, absentRoles: new Set(['reader']), comment: props.comment });
    assert.deepEqual(absent, bare.filter((s) => !/alter role "reader"/.test(s)), "an absent role's settings are left out, nothing else");
    assert.notDeepEqual(absent, bare);
  });

  it('every setting value survives as a literal, whatever it holds', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }).filter((v) => !v.includes('\u0000')), (value) => {
        const clause = setClause(`work_mem=${value}`);
        const literal = clause.slice(`set "work_mem" to `.length);
        assert.equal(literal.slice(1, -1).replace(/''/g, "'"), value);
      }),
    );
  });
});
