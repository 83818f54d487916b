/** mapWithConcurrency: a cluster's databases a few at a time; thousands of backups listed and judged. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapWithConcurrency } from '../common/map-with-concurrency.js';

describe('mapWithConcurrency', () => {
  it('keeps the items\' order and never runs more than the limit at a time', async () => {
    let running = 0;
    let most = 0;
    const results = await mapWithConcurrency([30, 5, 20, 1, 10, 2, 15], 3, async (ms) => {
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
    const outcome = mapWithConcurrency([1, 2, 3, 4, 5, 6], 2, async (n) => {
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

  it('the failure first in time is the one thrown, whichever item it came from, once the later one has settled', async () => {
    const settled: number[] = [];
    const outcome = mapWithConcurrency([50, 5], 2, async (ms) => {
      await sleep(ms);
      settled.push(ms);
      throw new Error(`failed after ${ms} ms`);
    });
    await assert.rejects(outcome, /^Error: failed after 5 ms$/);
    assert.deepEqual(settled, [5, 50], 'the call under way was waited for');
  });

  it('a limit below one is a mistake, not an empty result', async () => {
    await assert.rejects(mapWithConcurrency([1, 2], 0, async (n) => n), RangeError);
  });

  it('nothing to do: an empty result, no call', async () => {
    assert.deepEqual(await mapWithConcurrency([], 4, async () => assert.fail('called')), []);
  });
});
