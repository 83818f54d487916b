import { fileURLToPath } from 'node:url';

/** `.ts` when run from source with tsx, `.js` when run compiled from dist/. */
export const SOURCE_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** The root of the workflow bundle. */
export const WORKFLOWS_PATH = fileURLToPath(new URL(`../workflows/index${SOURCE_EXTENSION}`, import.meta.url));
