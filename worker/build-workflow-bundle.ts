/**
 * `npm run build` (after tsc): bundles the workflow code once into dist/workflow-bundle.js, which
 * the worker loads as is. The bundle that runs is the one that was built and tested, the worker
 * starts in a second, and webpack never sits in a long-running worker's memory.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE, WORKFLOWS_PATH } from './workflows-path.js';

const noop = () => undefined;
const { code } = await bundleWorkflowCode({
  workflowsPath: WORKFLOWS_PATH,
  logger: { log: noop, trace: noop, debug: noop, info: noop, warn: (m) => process.stderr.write(`${m}\n`), error: (m) => process.stderr.write(`${m}\n`) },
});
mkdirSync(path.dirname(WORKFLOW_BUNDLE), { recursive: true });
writeFileSync(WORKFLOW_BUNDLE, code);
process.stdout.write(`workflow bundle: ${path.relative(process.cwd(), WORKFLOW_BUNDLE)} (${Math.round(code.length / 1024)} KiB)\n`);
