/**
 * Staging databases a run terminated from outside left (a terminate skips every clean-up): dropped
 * by the next restore or drill once two days old (by the time in its mark), older than any attempt runs. Only databases of
 * the staging pattern that carry pgkeeper's mark are ever dropped (someone may name a database of
 * their own like one), and never a young one (another run may be restoring into it).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { applyDatabaseProperties, recreateStaging, sweepStaleStaging } from '../activities/postgres/database-admin.js';
import { markComment, markedAt, ownComment, withOwnComment } from '../activities/postgres/staging-mark.js';
import { quoteIdent, quoteLiteral } from '../common/sql.js';
import { swapIntoPlace } from '../activities/swap-into-place.js';
import type { DatabaseProperties } from '../common/manifest.js';
import { stagingName } from '../common/restore-input.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, dropDatabase, listDatabases, sql } from './helpers/postgres.js';

const DAY_MS = 86_400_000;

describe('stale staging databases', () => {
  const config = testConfig();
  const base = uniqueName('pgk_stale');
  const [oldDrill, oldStaging, youngStaging, oldOther] = [`pgkeeper_drill_${base.slice(-8)}`, stagingName(`${base}_a`, '0123abcd-0000'), stagingName(`${base}_b`, '4567cdef-0000'), `${base}_other`];
  // Someone's own database, named like a staging one (8 digits are hex digits too).
  const lookalike = `${base}_restoring_20250101`;
  const [swapped, swappedTarget] = [stagingName(`${base}_c`, '89abcdef-0000'), `${base}_c`];
  const made = [oldDrill, oldStaging, youngStaging, oldOther, lookalike, swapped, swappedTarget];
  after(async () => {
    for (const name of made) await dropDatabase(config, name);
  });

  /** Backdates a staging database's making as the sweep reads it: in its mark. */
  async function age(name: string, days: number): Promise<void> {
    await sql(config, 'postgres', `comment on database ${quoteIdent(name)} is ${quoteLiteral(markComment('a-test-run', Date.now() - days * DAY_MS))}`);
  }

  it('drops staging databases pgkeeper made over two days old, and nothing else', async () => {
    for (const name of [oldDrill, oldStaging, youngStaging]) await recreateStaging(config, name, null, { noTablespaces: false, madeBy: 'a-test-run' });
    for (const name of [oldOther, lookalike]) await createDatabase(config, name);
    const [marked] = await sql<{ comment: string }>(config, 'postgres', "select shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1", [oldStaging]);
    assert.match(marked!.comment, /^pgkeeper: work in progress of a restore or drill \(workflow a-test-run, made \d{4}-[-\d]+T[\d:.]+Z\); dropped when the run ends/);
    assert.ok(Math.abs(markedAt(marked!.comment)! - Date.now()) < 60_000);
    for (const name of [oldDrill, oldStaging]) await age(name, 3);
    await age(youngStaging, 1);
    const dropped = await sweepStaleStaging(config, 2 * DAY_MS);
    assert.deepEqual(dropped.sort(), [oldDrill, oldStaging].sort());
    const left = await listDatabases(config);
    assert.deepEqual(made.filter((n) => left.includes(n)).sort(), [youngStaging, oldOther, lookalike].sort());
  });

  it('keeps its mark until the swap, holding the source\'s comment under it; the swap sets that comment as it renames', async () => {
    const comment = async (name: string) => (await sql<{ c: string | null }>(config, 'postgres', "select shobj_description(oid, 'pg_database') as c from pg_database where datname = $1", [name]))[0]?.c ?? null;
    const { oid } = await recreateStaging(config, swapped, null, { noTablespaces: false, madeBy: 'a-test-run' });
    const props: DatabaseProperties = { owner: config.db.user, encoding: 'UTF8', collate: 'C', ctype: 'C', localeProvider: 'libc', icuLocale: null, connectionLimit: -1, grants: null, settings: [], roleSettings: [], comment: "the app's data\n-- and more" };
    await applyDatabaseProperties(config, swapped, props, { noOwner: false, noPrivileges: false });
    const held = await comment(swapped);
    assert.match(held ?? '', /^pgkeeper: work in progress of a restore or drill \(workflow a-test-run, made /, 'still marked after its properties: a run stopped now leaves a database the sweep drops');
    assert.equal(ownComment(held), props.comment);
    await new MockActivityEnvironment().run(swapIntoPlace, config, { staging: swapped, stagingOid: oid, target: swappedTarget, mode: 'create' as const, keptAtMs: Date.now(), kept: `${swappedTarget}_pre` });
    assert.equal(await comment(swappedTarget), props.comment);
    // Without a comment of its own: none once swapped in; a comment not pgkeeper's is left as it is.
    assert.equal(ownComment(withOwnComment(held, null)), null);
    assert.equal(withOwnComment('theirs', 'x'), 'x');
    assert.equal(ownComment('theirs'), undefined);
  });
});
