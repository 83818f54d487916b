/**
 * `--wait`'s progress display: a run that fails while the first snapshot is being asked for is
 * the run's failure, returned to the command, never an unhandled rejection (a stack dump).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { showProgress, WORKER_SILENT_MS } from '../client/progress.js';

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

  it('the worker silent after answering (killed mid-run): a line says so once, with the queue to start one on', async () => {
    let asked = 0;
    // Answers the first question; then, as a dead worker, never again (Temporal times the query out).
    const handle = {
      workflowId: 'pgkeeper:q:app',
      query: async () => (++asked === 1 ? { phase: 'dumping' } : Promise.reject(new Error('query timed out'))),
      describe: async () => ({ raw: {} }),
    } as unknown as WorkflowHandle;
    let written = '';
    const output = new Writable({ write: (chunk, _encoding, callback) => ((written += String(chunk)), callback()) });
    const done = setTimeout(WORKER_SILENT_MS + 5_000, 'completed');
    assert.equal(await showProgress(handle, done, 'q', output as NodeJS.WriteStream), 'completed');
    const lines = written.trim().split('\n');
    assert.match(lines[0]!, /^\d\d:\d\d:\d\d dumping$/);
    assert.equal(lines.length, 2, written);
    assert.match(lines[1]!, /^\d\d:\d\d:\d\d no worker has answered for 3\d s: it may have stopped or lost its connection; the run goes on once one polls task queue "q" \(start one: `pgkeeper worker`\)$/);
  });
});
