/** mapAtOnce: the bounded concurrency that lists and judges thousands of backups. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapAtOnce } from '../activities/map-at-once.js';

describe('mapAtOnce', () => {
  it('keeps the items\' order and never runs more than the limit at a time', async () => {
    let running = 0;
    let most = 0;
    const results = await mapAtOnce([30, 5, 20, 1, 10, 2, 15], 3, async (ms) => {
      most = Math.max(most, ++running);
      await sleep(ms);
      running--;
      return ms * 2;
    });
    assert.deepEqual(results, [60, 10, 40, 2, 20, 4, 30]);
    assert.equal(most, 3);
  });

  it('the first failure rejects once the calls under way settle, and no further call starts', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const outcome = mapAtOnce([1, 2, 3, 4, 5, 6], 2, async (n) => {
      started.push(n);
      await sleep(n === 1 ? 5 : 20);
      if (n === 1) throw new Error('store did not answer');
      finished.push(n);
      return n;
    });
    await assert.rejects(outcome, /^Error: store did not answer$/);
    assert.deepEqual(started, [1, 2]);
    assert.deepEqual(finished, [2], 'the call under way was waited for');
  });

  it('nothing to do: an empty result, no call', async () => {
    assert.deepEqual(await mapAtOnce([], 4, async () => assert.fail('called')), []);
  });
});
