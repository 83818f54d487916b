/**
 * pino for the worker and CLI: JSON lines for log collectors, human-readable in a terminal.
 * The Temporal SDK's own logs (worker, activities, forwarded core logs) are routed into the same
 * pino logger, so one stream carries everything.
 */
import type { LogLevel as TemporalLogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../common/config.js';

/** Defense in depth: even if a password field is ever logged by mistake, pino replaces it. */
const REDACT_PATHS = ['password', '*.password', 'PGPASSWORD', '*.PGPASSWORD', 'DB_PASSWORD', '*.DB_PASSWORD'];

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '***' }, base: { app: 'pgkeeper' } };
  if (destination) return pino(options, destination);
  if (process.stdout.isTTY) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,app' } } });
  }
  return pino(options);
}

const TO_PINO: Record<TemporalLogLevel, LogLevel> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/** The Temporal Logger interface, backed by pino. */
export class TemporalPinoLogger implements TemporalLogger {
  constructor(private readonly logger: Logger) {}

  log(level: TemporalLogLevel, message: string, meta?: LogMetadata): void {
    // The workflow bundler logs webpack's whole build report at INFO: useful only when debugging.
    const pinoLevel = message.startsWith('asset workflow-bundle') ? 'debug' : TO_PINO[level];
    this.logger[pinoLevel]({ ...meta, source: 'temporal' }, message);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
