import { fileURLToPath } from 'node:url';

/** The root of the workflow bundle. */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
