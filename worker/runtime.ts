/**
 * Installs the Temporal Runtime once per process with pino as its logger. It must run before any
 * connection is made (the Runtime is a singleton created on first use).
 */
import { Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import { TemporalPinoLogger } from './logger.js';

export function installRuntime(logger: Logger): void {
  Runtime.install({
    logger: new TemporalPinoLogger(logger),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
}
