import { fileURLToPath } from 'node:url';

/** `.ts` when run from source with tsx, `.js` when run compiled from dist/. */
const SOURCE_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** The root of the workflow bundle. */
export const WORKFLOWS_PATH = fileURLToPath(new URL(`../workflows/index${SOURCE_EXTENSION}`, import.meta.url));

/** The prebuilt bundle `npm run build` writes: dist/workflow-bundle.js, seen from worker/ (sources) or dist/worker/ (compiled). */
export const WORKFLOW_BUNDLE = fileURLToPath(new URL(SOURCE_EXTENSION === '.ts' ? '../dist/workflow-bundle.js' : '../workflow-bundle.js', import.meta.url));
