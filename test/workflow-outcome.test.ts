/**
 * Waiting for a run across a lost connection to Temporal: the run goes on there, so the wait
 * asks again instead of calling the run failed; the run's own failure still ends it at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workflowOutcome } from '../client/workflow-outcome.js';

/** As @temporalio/client reports a server it cannot reach: a ServiceError caused by gRPC's UNAVAILABLE. */
const unavailable = () => Object.assign(new Error('Failed to get workflow result'), { cause: Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 }) });

describe('waiting for a workflow outcome', () => {
  it('Temporal not reached for a while: asked again, and the outcome returned once it answers', async () => {
    let asked = 0;
    const handle = { workflowId: 'pgkeeper:q:app', result: async () => (++asked < 3 ? Promise.reject(unavailable()) : 'completed') };
    assert.equal(await workflowOutcome(handle, '127.0.0.1:7233'), 'completed');
    assert.equal(asked, 3);
  });

  it("the run's own failure is not asked again", async () => {
    let asked = 0;
    const failed = new Error('backup failed: no database "app"');
    const handle = { workflowId: 'pgkeeper:q:app', result: async () => (++asked, Promise.reject(failed)) };
    await assert.rejects(workflowOutcome(handle, '127.0.0.1:7233'), (err) => err === failed);
    assert.equal(asked, 1);
  });
});
