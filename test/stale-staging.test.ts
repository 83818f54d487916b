/**
 * Staging databases a run terminated from outside left (a terminate skips every clean-up): dropped
 * by the next restore or drill once two days old, older than any attempt runs. Only databases of
 * the staging pattern that carry pgkeeper's mark are ever dropped (someone may name a database of
 * their own like one), and never a young one (another run may be restoring into it).
 */
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { recreateStaging, sweepStaleStaging } from '../activities/postgres/database-admin.js';
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
  const made = [oldDrill, oldStaging, youngStaging, oldOther, lookalike];
  after(async () => {
    for (const name of made) await dropDatabase(config, name);
  });

  /** Backdates a database's creation as the sweep reads it: its directory's PG_VERSION. */
  async function age(name: string, days: number): Promise<void> {
    const [row] = await sql<{ dir: string; oid: string }>(config, 'postgres', "select current_setting('data_directory') as dir, oid::text from pg_database where datname = $1", [name]);
    const when = new Date(Date.now() - days * DAY_MS);
    utimesSync(path.join(row!.dir, 'base', row!.oid, 'PG_VERSION'), when, when);
  }

  it('drops staging databases pgkeeper made over two days old, and nothing else', async () => {
    for (const name of [oldDrill, oldStaging, youngStaging]) await recreateStaging(config, name, null, { noTablespaces: false, madeBy: 'a-test-run' });
    for (const name of [oldOther, lookalike]) await createDatabase(config, name);
    for (const name of [oldDrill, oldStaging, oldOther, lookalike]) await age(name, 3);
    await age(youngStaging, 1);
    const [marked] = await sql<{ comment: string }>(config, 'postgres', "select shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1", [oldStaging]);
    assert.match(marked!.comment, /^pgkeeper: work in progress of a restore or drill \(workflow a-test-run\); dropped when the run ends/);
    const dropped = await sweepStaleStaging(config, 2 * DAY_MS);
    assert.deepEqual(dropped.sort(), [oldDrill, oldStaging].sort());
    const left = await listDatabases(config);
    assert.deepEqual(made.filter((n) => left.includes(n)).sort(), [youngStaging, oldOther, lookalike].sort());
  });
});
