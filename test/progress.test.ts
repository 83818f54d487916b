/**
 * `--wait`'s progress display: a run that fails while the first snapshot is being asked for is
 * the run's failure, returned to the command, never an unhandled rejection (a stack dump).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { showProgress } from '../client/progress.js';

describe('progress', () => {
  it('a run failing while its first snapshot is asked for: its failure, and no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const note = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', note);
    try {
      // Temporal answering the snapshot's query and describe more slowly than the run fails.
      const slow = async () => {
        await setTimeout(300);
        throw new Error('the run is closed');
      };
      const handle = { query: slow, describe: slow } as unknown as WorkflowHandle;
      const output = new Writable({ write: (_chunk, _encoding, callback) => callback() });
      await assert.rejects(showProgress(handle, Promise.reject(new Error('no backup of "nosuchdb"')), "q", output as NodeJS.WriteStream), /no backup of "nosuchdb"/);
      await setTimeout(50);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', note);
    }
  });
});
