/**
 * Installs the Temporal Runtime once per process with pino as its logger and, when an address is
 * given, a Prometheus endpoint serving Temporal's runtime metrics and pgkeeper's own (recorded by
 * the reportOutcome activity through the same meter). It must run before any connection is made.
 */
import { Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import { TemporalPinoLogger } from './logger.js';

export function installRuntime(logger: Logger, metricsAddress?: string): void {
  Runtime.install({
    logger: new TemporalPinoLogger(logger),
    telemetryOptions: {
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      ...(metricsAddress ? { metrics: { prometheus: { bindAddress: metricsAddress } } } : {}),
    },
  });
}
