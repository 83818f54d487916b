/**
 * Bundles the workflow code and writes it to stdout. The worker runs this in a short-lived child
 * process: webpack needs a few hundred MB while it bundles, which a long-running worker would
 * otherwise keep for its whole life.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from './workflows-path.js';

const noop = () => undefined;
const { code } = await bundleWorkflowCode({
  workflowsPath: WORKFLOWS_PATH,
  logger: { log: noop, trace: noop, debug: noop, info: noop, warn: (m) => process.stderr.write(`${m}\n`), error: (m) => process.stderr.write(`${m}\n`) },
});
process.stdout.write(code);
