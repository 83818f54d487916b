/**
 * Staging databases a run terminated from outside left (a terminate skips every clean-up): dropped
 * by the next restore or drill once two days old, older than any attempt runs. Only names of the
 * staging pattern are ever dropped, and never a young one (another run may be restoring into it).
 */
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { sweepStaleStaging } from '../activities/postgres/database-admin.js';
import { stagingName } from '../common/restore-input.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, dropDatabase, listDatabases, sql } from './helpers/postgres.js';

const DAY_MS = 86_400_000;

describe('stale staging databases', () => {
  const config = testConfig();
  const base = uniqueName('pgk_stale');
  const [oldDrill, oldStaging, youngStaging, oldOther] = [`pgkeeper_drill_${base.slice(-8)}`, stagingName(`${base}_a`, '0123abcd-0000'), stagingName(`${base}_b`, '4567cdef-0000'), `${base}_other`];
  const made = [oldDrill, oldStaging, youngStaging, oldOther];
  after(async () => {
    for (const name of made) await dropDatabase(config, name);
  });

  /** Backdates a database's creation as the sweep reads it: its directory's PG_VERSION. */
  async function age(name: string, days: number): Promise<void> {
    const [row] = await sql<{ dir: string; oid: string }>(config, 'postgres', "select current_setting('data_directory') as dir, oid::text from pg_database where datname = $1", [name]);
    const when = new Date(Date.now() - days * DAY_MS);
    utimesSync(path.join(row!.dir, 'base', row!.oid, 'PG_VERSION'), when, when);
  }

  it('drops staging databases over two days old, and nothing else', async () => {
    for (const name of made) await createDatabase(config, name);
    for (const name of [oldDrill, oldStaging, oldOther]) await age(name, 3);
    await age(youngStaging, 1);
    const dropped = await sweepStaleStaging(config, 2 * DAY_MS);
    assert.deepEqual(dropped.sort(), [oldDrill, oldStaging].sort());
    const left = await listDatabases(config);
    assert.deepEqual(made.filter((n) => left.includes(n)).sort(), [youngStaging, oldOther].sort());
  });
});
