/**
 * Restore progress counts archive items: one per entry of `pg_restore --list`, with and without
 * -j, checked against the real pg_restore's --verbose output on a database with tables, data,
 * indexes, constraints, sequences, a schema, comments, a grant and large objects.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isItemLine } from '../activities/restore-archive.js';
import { countToc } from '../activities/dump-database.js';
import { pgTool, pgToolEnv } from './helpers/cluster.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, dropDatabase, seedDatabase, sql } from './helpers/postgres.js';
import { tempDir } from './helpers/temp-dirs.js';

describe('restore progress items', () => {
  const config = testConfig();
  const source = uniqueName('pgk_items');
  const targets: string[] = [];
  const reader = uniqueName('pgk_items_reader');
  const archive = path.join(tempDir('items'), 'source.dump');

  before(async () => {
    await seedDatabase(config, source);
    await sql(config, 'postgres', `create role ${reader}`);
    await sql(
      config,
      source,
      `comment on table customers is 'who buys';
       grant select on orders to ${reader};
       select lo_from_bytea(0, 'one'), lo_from_bytea(0, 'two');
       do $$ begin execute format('comment on large object %s is %L', (select min(oid) from pg_largeobject_metadata), 'the first'); end $$;`,
    );
    execFileSync(pgTool('pg_dump'), ['--format=custom', `--file=${archive}`, source], { env: pgToolEnv() });
  });
  after(async () => {
    for (const name of [source, ...targets]) await dropDatabase(config, name);
    await sql(config, 'postgres', `drop role if exists ${reader}`);
  });

  for (const jobs of [1, 2]) {
    it(`one counted line per entry of the table of contents (-j ${jobs})`, async () => {
      const { entries } = countToc(execFileSync(pgTool('pg_restore'), ['--list', archive], { encoding: 'utf8' }));
      const target = uniqueName('pgk_items_copy');
      targets.push(target);
      await createDatabase(config, target);
      const run = spawnSync(pgTool('pg_restore'), ['--verbose', `--jobs=${jobs}`, `--dbname=${target}`, archive], { env: pgToolEnv(), encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const counted = run.stderr.split('\n').filter(isItemLine);
      assert.ok(entries > 5, `a table of contents worth counting: ${entries}`);
      for (const kind of ['creating COMMENT', 'creating ACL', 'executing BLOB', 'processing BLOBS', 'processing data', 'creating INDEX']) {
        assert.ok(counted.some((line) => line.includes(kind)), `${kind} among:\n${counted.join('\n')}`);
      }
      assert.equal(counted.length, entries, counted.join('\n'));
    });
  }
});
