/**
 * Installs the Temporal Runtime once per process with pino as its logger and, when an address is
 * given, a Prometheus endpoint serving Temporal's runtime metrics and pgkeeper's own (recorded by
 * the reportOutcome activity through the same meter). It must run before any connection is made.
 */
import { Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import { TemporalPinoLogger } from './logger.js';

/**
 * pgkeeper_duration_seconds' buckets: runs take seconds to hours. The core's default buckets are
 * for milliseconds (50 … 10000), where every backup of a day would fall in the first.
 */
const DURATION_BUCKETS_SECONDS = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400];

/** The signals that start the worker's graceful shutdown (the Runtime's default list, named so run-worker listens to the same). */
export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2'];

export function installRuntime(logger: Logger, metricsAddress?: string): void {
  Runtime.install({
    logger: new TemporalPinoLogger(logger),
    shutdownSignals: [...SHUTDOWN_SIGNALS],
    telemetryOptions: {
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      ...(metricsAddress ? { metrics: { prometheus: { bindAddress: metricsAddress, histogramBucketOverrides: { pgkeeper_duration_seconds: DURATION_BUCKETS_SECONDS } } } } : {}),
    },
  });
}
