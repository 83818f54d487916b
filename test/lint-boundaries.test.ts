/**
 * The import boundaries of eslint.config.js, checked against snippets: a pattern that matches
 * nothing would let a Node built-in or an activity implementation into the workflow bundle
 * silently. Type information is switched off here (these rules need none), so this stays fast.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const eslint = new ESLint({
  cwd: ROOT,
  overrideConfig: {
    languageOptions: { parserOptions: { projectService: false } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
  },
});

async function refused(file: string, importLine: string): Promise<boolean> {
  const [result] = await eslint.lintText(`${importLine}\n`, { filePath: `${ROOT}/${file}` });
  const fatal = result!.messages.find((m) => m.fatal);
  assert.equal(fatal, undefined, `the snippet parses: ${fatal?.message}`);
  return result!.messages.some((m) => m.ruleId === '@typescript-eslint/no-restricted-imports');
}

const FORBIDDEN = [
  "import fs from 'node:fs';",
  "import path from 'path';",
  "import { readFile } from 'fs/promises';",
  "import { execa } from 'execa';",
  "import pino from 'pino';",
  "import pg from 'pg';",
  "import { Worker } from '@temporalio/worker';",
  "import { Context } from '@temporalio/activity';",
  "import { createActivities } from '../activities/index.js';",
  "import { PosixStore } from '../activities/store/posix.js';",
];

const ALLOWED = [
  "import type { Activities } from '../activities/index.js';",
  "import { type ResolveRequest } from '../activities/resolve-backup.js';",
  "import { proxyActivities } from '@temporalio/workflow';",
  "import { ApplicationFailure } from '@temporalio/common';",
  "import { z } from 'zod';",
  "import { quoteIdent } from '../common/sql.js';",
];

describe('lint: import boundaries of the workflow sandbox', () => {
  for (const dir of ['workflows', 'common']) {
    it(`${dir}/ refuses Node built-ins, side-effecting libraries and activity implementations`, async () => {
      for (const line of FORBIDDEN) assert.ok(await refused(`${dir}/probe.ts`, line), `${dir}/: ${line} should be refused`);
    });
    it(`${dir}/ allows the workflow SDK, pure libraries and \`import type\` from activities/`, async () => {
      for (const line of ALLOWED) assert.ok(!(await refused(`${dir}/probe.ts`, line)), `${dir}/: ${line} should be allowed`);
    });
  }

  it('activities/ may import anything (the boundary is only for the sandboxed code)', async () => {
    for (const line of FORBIDDEN) assert.ok(!(await refused('activities/probe.ts', line)), `activities/: ${line}`);
  });
});
