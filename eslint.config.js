// `npm run lint`: a small, typed rule set that catches real bugs, not style.
// - Promises: a forgotten `await` or a promise passed where a callback's result is ignored loses
//   errors and ordering (an activity "finishes" before its work did).
// - Boundaries: workflows/ and common/ end up in the deterministic, sandboxed workflow bundle, so
//   they must not import Node built-ins, side-effecting libraries or activity implementations
//   (`import type` from activities/ is how workflows name activities, and stays allowed).
import { builtinModules } from 'node:module';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const bareBuiltins = builtinModules.filter((name) => !name.startsWith('_'));

export default defineConfig(
  { ignores: ['node_modules/', 'dist/', '.data/', 'bench/results/'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself awaits: not floating.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['workflows/**/*.ts', 'common/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...bareBuiltins.map((name) => ({ name, message: 'workflows/ and common/ run in the workflow sandbox: no Node built-ins.' })),
            ...['execa', 'pino', 'pg', '@temporalio/worker', '@temporalio/activity'].map((name) => ({
              name,
              message: 'workflows/ and common/ run in the workflow sandbox: side effects belong in activities/ or worker/.',
            })),
          ],
          patterns: [
            { regex: '^node:', message: 'workflows/ and common/ run in the workflow sandbox: no Node built-ins.' },
            { regex: '^(pg|pino|execa)/', message: 'workflows/ and common/ run in the workflow sandbox: side effects belong in activities/ or worker/.' },
            {
              regex: '(^|/)activities(/|$)',
              allowTypeImports: true,
              message: 'workflows/ and common/ may name activities only with `import type`; the implementations run in the worker.',
            },
          ],
        },
      ],
    },
  },
);
