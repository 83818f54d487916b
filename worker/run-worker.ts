/**
 * The worker process: validate the environment, install pino as Temporal's logger, connect,
 * run until SIGINT/SIGTERM (the Runtime turns those into a graceful shutdown).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import { ConfigError, parseConfig } from '../common/config.js';
import { describeTemporalSecurity } from '../common/temporal-security.js';
import { temporalConnectionOptions, type TemporalConnectionOptions } from '../client/temporal-connection-options.js';
import { namespaceMissingMessage } from '../client/namespace-missing.js';
import { tlsFailureMessage } from '../client/tls-failure-message.js';
import { createLogger } from './logger.js';
import { installRuntime, SHUTDOWN_SIGNALS } from './runtime.js';
import { BundleMissingError, createWorker, SHUTDOWN_GRACE_TIME } from './create-worker.js';
import { missingSearchAttributes } from './search-attribute-check.js';
import { lookalikeVariables } from './lookalike-variables.js';
import { neighboursWithOtherStores } from './worker-identity.js';
import { startupProblems } from './startup-checks.js';
import { WORKFLOW_BUNDLE } from './workflows-path.js';

/** A configuration error: one plain line each, before anything else, and exit code 2 (like a bad variable). */
function refuse(...lines: string[]): never {
  for (const line of lines) process.stderr.write(`pgkeeper worker: ${line}\n`);
  process.exit(2);
}

/**
 * The Runtime turns the first of SHUTDOWN_SIGNALS into a graceful shutdown, and removes its own
 * listener as it starts it. execa's clean-up of running tools (signal-exit) would then find no
 * other listener and raise the signal again, killing the worker mid-activity: its tools' partial
 * output (a plaintext scratch file, a staging database) left until the heartbeat timeout and a
 * retry. This listener stays, so the shutdown runs its course; a second signal stops at once.
 */
function stayOnSignals(logger: Logger): void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++received === 1) {
      logger.info(`${signal}: stopping; running activities have ${SHUTDOWN_GRACE_TIME} to finish, then are cancelled (their tools stopped, their partial output removed) and retried by another worker`);
      return;
    }
    logger.warn(`${signal} again: stopping now, without cleaning up after running activities`);
    process.exit(128 + os.constants.signals[signal]);
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal);
}

/**
 * The operating system's words inside the core's transport error, e.g. "Connection refused" from
 * `tonic::transport::Error(Transport, ConnectError(ConnectError("tcp connect error", [::1]:7233, Os { … message: "Connection refused" })))`:
 * its last quoted string. Any other message as it is.
 */
export function transportReason(message: string): string {
  if (!message.startsWith('tonic::transport::Error')) return message;
  return [...message.matchAll(/"([^"]+)"/g)].at(-1)?.[1] ?? message;
}

export async function runWorker(): Promise<void> {
  // Before anything else: a fresh clone run from its sources has no bundle until it is built.
  if (!existsSync(WORKFLOW_BUNDLE)) refuse(new BundleMissingError().message);
  let config;
  let connectionOptions: TemporalConnectionOptions;
  try {
    config = parseConfig(process.env, (p) => path.resolve(p));
    // TLS files are read and checked here, so a mistake is a configuration error (exit 2).
    connectionOptions = await temporalConnectionOptions(config.temporal);
  } catch (err) {
    if (err instanceof ConfigError) refuse(err.message);
    throw err;
  }
  // The AWS SDK's multi-line notice that its releases after January 2027 need Node 22 would come
  // before the worker's own first line (a refused credential, say): it is logged below instead.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // node-postgres falls back to PGPASSWORD when DB_PASSWORD is unset; pg_dump and pg_restore are
  // never given it. Neither reads it, so a worker cannot connect one way and dump another.
  const logger = createLogger(config.logLevel);
  // Read before PGPASSWORD goes: the user of the old backup.sh's libpq names is told which variable is meant.
  for (const warning of lookalikeVariables(process.env)) logger.warn(warning);
  if (config.db.password === undefined) delete process.env.PGPASSWORD;
  try {
    installRuntime(logger, config.metricsAddress);
  } catch (err) {
    // The core's own words ("Address already in use"), not its stack: two workers on one host, say.
    refuse(`METRICS_ADDRESS ${config.metricsAddress}: the metrics server cannot listen there (${(err as Error).message.replace(/^.*?: /, '')}); pick a free port, or unset it`);
  }
  const problems = await startupProblems(config, logger);
  if (problems.length > 0) refuse(...problems);
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(connectionOptions);
  } catch (err) {
    logger.error(
      (await tlsFailureMessage(err, connectionOptions, config.temporal.security)) ??
        `cannot reach Temporal at ${config.temporal.address} (${transportReason((err as Error).message)}); start it (npm run up) or set TEMPORAL_ADDRESS`,
    );
    process.exit(1);
  }
  // The first call that names the namespace: one that does not exist is a configuration error.
  const missing = await missingSearchAttributes(connection.operatorService, config.temporal.namespace).catch(async (err: unknown) => {
    const namespace = namespaceMissingMessage(err);
    if (!namespace) throw err;
    await connection.close();
    refuse(namespace);
  });
  if (missing.length > 0) {
    await connection.close();
    refuse(`search attributes ${missing.join(', ')} are not registered on namespace "${config.temporal.namespace}": run \`pgkeeper setup\` once (npm run up registers them on the dev server)`);
  }
  const worker = await createWorker({ config, connection });
  logger.info(
    {
      taskQueue: config.temporal.taskQueue,
      namespace: config.temporal.namespace,
      store: config.stores.primary.url,
      copies: config.stores.copies.map((s) => s.url),
      encryption: config.encryption.recipients ? 'on' : 'off',
      postgres: `${config.db.user}@${config.db.host}:${config.db.port}`,
      temporal: `${config.temporal.address} (${describeTemporalSecurity(config.temporal.security)})`,
      metrics: config.metricsAddress ? `http://${config.metricsAddress}/metrics` : 'off',
      notifications: config.notify.webhookUrl ? `on ${config.notify.on}` : 'off',
    },
    'pgkeeper worker started',
  );
  // Before this worker polls (it would list itself): a neighbour on the queue with other stores.
  const neighbours = await neighboursWithOtherStores(connection, config).catch(() => []);
  if (neighbours.length > 0) {
    logger.warn(
      `another worker polls task queue "${config.temporal.taskQueue}" with other stores (${neighbours.join(', ')}): each run goes to whichever takes it, so backups land in either's stores and listings answer from either; give each set of stores its own TASK_QUEUE (a worker stopped in the last few minutes is listed too)`,
    );
  }
  const usesS3 = [config.stores.primary, ...config.stores.copies].some((s) => s.url.startsWith('s3://'));
  if (usesS3 && Number(process.versions.node.split('.')[0]) < 22) {
    logger.warn(`Node ${process.versions.node}: AWS SDK releases after the first week of January 2027 need Node 22 or newer (the Docker image runs Node 22)`);
  }
  stayOnSignals(logger);
  try {
    await worker.run();
  } finally {
    await connection.close();
    logger.info('pgkeeper worker stopped');
  }
}
