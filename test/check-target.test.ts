/**
 * checkTarget on a real server, before anything is fetched or created: a replace needs the
 * database it replaces. A name off by its case or its Unicode form (café typed with a combining
 * accent) names a database PostgreSQL holds apart, so it is refused with the one meant.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { checkTarget } from '../activities/check-target.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, dropDatabase, listDatabases } from './helpers/postgres.js';

describe('checkTarget', () => {
  const config = testConfig();
  const live = `${uniqueName('pgk_target')}_café`; // NFC: é is one code point
  before(() => createDatabase(config, live));
  after(() => dropDatabase(config, live));

  const refusal = (target: string, mode: 'create' | 'replace') =>
    checkTarget(config, { target, mode }).then(
      () => assert.fail(`${target} (${mode}) was accepted`),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure, String(err));
        assert.equal(err.nonRetryable, true);
        return err;
      },
    );

  it('replace of a database that is there, and create of one that is not, go ahead', async () => {
    await checkTarget(config, { target: live, mode: 'replace' });
    await checkTarget(config, { target: `${live}_new`, mode: 'create' });
  });

  it('create of a database that is there is refused', async () => {
    const err = await refusal(live, 'create');
    assert.equal(err.type, 'TargetExists');
  });

  it('replace of a database that is not there is refused, naming the one meant: another Unicode form, another case, a typo, or none', async () => {
    const server = `${config.db.host}:${config.db.port}`;
    const nfd = live.normalize('NFD');
    assert.notEqual(nfd, live);
    for (const [target, meant] of [
      [nfd, `Did you mean "${live}" (the same letters, in another Unicode form)? `],
      [live.toUpperCase(), `Did you mean "${live}"? `],
      [`${live}x`, `Did you mean "${live}"? `],
      ['pgk_nothing_like_any_database_here', ''],
    ] as const) {
      const err = await refusal(target, 'replace');
      assert.equal(err.type, 'DatabaseMissing');
      assert.equal(
        err.message,
        `database "${target}" does not exist on ${server}, so there is nothing to replace and nothing was changed. ${meant}To restore into a new database of that name, leave out --replace (in the UI, "mode": "create")`,
      );
      // The problem alone, for the CLI to follow with its own flags.
      assert.deepEqual(err.details, [{ problem: `database "${target}" does not exist on ${server}, so there is nothing to replace and nothing was changed${meant ? `. ${meant.trim()}` : ''}` }]);
    }
    assert.deepEqual((await listDatabases(config)).filter((n) => n.normalize('NFC').toLowerCase().startsWith(live.slice(0, 10))), [live], 'nothing was created');
  });
});
