/** A real Temporal dev server for a test file, from the CLI binary that scripts/temporal-cli.sh provides. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { Config } from '../../common/config.js';
import { SEARCH_ATTRIBUTES } from '../../common/search-attributes.js';
import { createWorker } from '../../worker/create-worker.js';

export function temporalCliPath(): string {
  if (process.env.TEMPORAL_CLI) return process.env.TEMPORAL_CLI;
  const script = fileURLToPath(new URL('../../scripts/temporal-cli.sh', import.meta.url));
  return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/**
 * Starts a dev server for this test file. Unless the file installed its own Runtime (to capture
 * logs), the SDK's logs are kept to errors so test output stays readable.
 */
export async function startDevServer(extraArgs: string[] = []): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) installQuietRuntime();
  return TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalCliPath() }, extraArgs, searchAttributes: SEARCH_ATTRIBUTES },
  });
}

let runtimeInstalled = false;

export function markRuntimeInstalled(): void {
  runtimeInstalled = true;
}

function installQuietRuntime(): void {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  runtimeInstalled = true;
}

/** Runs `fn` while a pgkeeper worker with `config` polls the dev server (the prebuilt workflow bundle: scripts/test.sh builds it). */
export async function withWorker<T>(env: TestWorkflowEnvironment, config: Config, fn: (worker: Worker) => Promise<T>): Promise<T> {
  const worker = await startWorker(env, config);
  return worker.runUntil(() => fn(worker));
}

export async function startWorker(env: TestWorkflowEnvironment, config: Config, shutdownGraceTime?: string): Promise<Worker> {
  return createWorker({ config, connection: env.nativeConnection, shutdownGraceTime });
}
