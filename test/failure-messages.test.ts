/**
 * The first line a person sees carries the root cause: the worker's log line for a failed activity
 * or workflow (it used to print "error":{}), and the failure of a run started under another id, as
 * from the Temporal UI (it used to say "Child Workflow execution failed").
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import { backupDatabase } from '../workflows/index.js';
import { createLogger, TemporalPinoLogger } from '../worker/logger.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { markRuntimeInstalled, startDevServer, withWorker } from './helpers/temporal.js';

const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

describe('failures said plainly', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();

  before(async () => {
    Runtime.install({ logger: new TemporalPinoLogger(createLogger('debug', sink)) });
    markRuntimeInstalled();
    env = await startDevServer();
  });
  after(async () => env?.teardown());

  it('a run started under any id fails with the root cause as its own message; the worker logs it in the message, not as {}', async () => {
    const missing = uniqueName('pgk_missing');
    const err = await withWorker(env, config, () =>
      env.client.workflow.execute(backupDatabase, { args: [{ database: missing }], taskQueue: config.temporal.taskQueue, workflowId: uniqueName('from-the-ui') }),
    ).catch((e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError);
    const reason = new RegExp(`database "${missing}" does not exist on`);
    assert.match(err.cause!.message, reason, 'the top failure of the run the engineer started says why');
    assert.equal((err.cause as { type?: string }).type, 'DatabaseMissing');

    const activityFailed = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('Activity failed'));
    assert.ok(activityFailed, 'the worker logged the failed activity');
    assert.match(String(activityFailed.msg), reason, 'the log line itself names the cause');
    assert.match(String((activityFailed.error as { message?: string }).message), reason, "and the error field is not {}");
    const workflowFailed = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('Workflow failed'));
    assert.ok(workflowFailed, 'the worker logged the failed workflow');
    assert.match(String(workflowFailed.msg), reason);
    // A failure pgkeeper classified says all in its message: the place it was classified is noise.
    for (const line of [activityFailed, workflowFailed]) assert.equal((line.error as { stack?: string }).stack, undefined, JSON.stringify(line.error));
  });

  it('an error pgkeeper did not classify (a bug, a library) keeps its stack in the log: there it is the clue', () => {
    lines.length = 0;
    const logger = new TemporalPinoLogger(createLogger('debug', sink));
    logger.warn('Activity failed', { error: new TypeError("Cannot read properties of undefined (reading 'size')") });
    logger.warn('Workflow failed', { error: new TypeError("Cannot read properties of undefined (reading 'id')") }); // a bug in workflow code
    // As the run's failure wraps it (workflows/root-cause.ts): the bug's own stack, not the wrapper's.
    logger.warn('Workflow failed', { error: ApplicationFailure.create({ message: 'x', type: 'Failed', cause: new TypeError("Cannot read properties of undefined (reading 'at')") }) });
    assert.equal(lines.length, 3);
    for (const line of lines) assert.match(String((line.error as { stack?: string }).stack), /^TypeError: Cannot read properties of undefined[^]*\n {4}at /);
  });
});
