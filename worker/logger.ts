/**
 * pino for the worker and CLI: JSON lines for log collectors, human-readable in a terminal.
 * The Temporal SDK's own logs (worker, activities, forwarded core logs) are routed into the same
 * pino logger, so one stream carries everything.
 */
import type { LogLevel as TemporalLogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { rootCauseMessage, rootCauseType } from '../common/failure-message.js';

/** Defense in depth: even if a password field is ever logged by mistake, pino replaces it. */
const REDACT_PATHS = ['password', '*.password', 'PGPASSWORD', '*.PGPASSWORD', 'DB_PASSWORD', '*.DB_PASSWORD'];

/** pino-pretty is a development dependency: a production install (the Docker image) logs JSON even in a terminal. */
function prettyAvailable(): boolean {
  try {
    import.meta.resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '***' }, base: { app: 'pgkeeper' } };
  if (destination) return pino(options, destination);
  if (process.stdout.isTTY && prettyAvailable()) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,app' } } });
  }
  return pino(options, stdoutDroppingWhenClosed());
}

/**
 * The process's stdout, written line by line (as pino's own default, but not through sonic-boom:
 * once its reader is gone, sonic-boom's flush at exit retries the broken pipe for ever, and a worker
 * told to stop never does). A log reader that goes away (a log shipper that died, `| head`) must not
 * stop the backups either: its lines are dropped.
 */
function stdoutDroppingWhenClosed(): NodeJS.WritableStream {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  return process.stdout;
}

const TO_PINO: Record<TemporalLogLevel, LogLevel> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

function looksLikeError(value: unknown): value is { message: string; stack?: string } {
  return value instanceof Error || (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string');
}

/**
 * Failures pgkeeper raises on purpose, each with its cause and fix in its message: their stack is
 * where they were classified, which no reader needs (and a terminal shows as a wall of lines). The
 * catch-alls (a statement, a tool or a store failing in words pgkeeper does not know) keep theirs:
 * there it says which step met them.
 */
const CATCH_ALL: string[] = [FailureType.DatabaseError, FailureType.PgToolFailed, FailureType.StoreFailed];
const CLASSIFIED = new Set<string>([...Object.values(FailureType), 'ClusterBackupFailed', 'CopyFailed'].filter((t) => !CATCH_ALL.includes(t)));

/**
 * A run's failure, as the SDK logs it ("Workflow failed") from its workflow thread, which drops
 * the failure's type: one that pgkeeper's workflow code threw on purpose (an ApplicationFailure,
 * repeating a failed activity's, logged with its own stack) has a stack of workflow plumbing only.
 * Any other error (a bug: a TypeError) keeps its stack.
 */
const thrownOnPurpose = (message: string, stack: string | undefined) => /^Workflow failed/.test(message) && /^ApplicationFailure: /.test(stack ?? '');

/** Temporal's failure classes, which wrap an error: their stack is where they were made, not the error's. */
const WRAPPER = /^(ApplicationFailure|ActivityFailure|ChildWorkflowFailure|TemporalFailure)\b/;

/** An error as a log field: pino prints only `err` keys itself, so `error` objects would come out as {}. */
function describeError(error: { message: string; stack?: string }, logMessage: string) {
  const chain: { message: string; stack?: string }[] = [];
  for (let e: unknown = error; looksLikeError(e); e = (e as { cause?: unknown }).cause) chain.push(e);
  const type = rootCauseType(error);
  // A bug wrapped on its way (a workflow's TypeError in the run's failure): its own stack is the clue.
  const bug = chain.slice(1).find((e) => e.stack !== undefined && !WRAPPER.test(e.stack));
  const noise = (type !== undefined && CLASSIFIED.has(type)) || thrownOnPurpose(logMessage, error.stack);
  const stack = bug?.stack ?? (noise ? undefined : error.stack);
  return { message: rootCauseMessage(error), type, chain: chain.map((e) => e.message), ...(stack ? { stack } : {}) };
}

/** The Temporal Logger interface, backed by pino. A failure's root cause goes into the message itself: the first thing a reader sees. */
export class TemporalPinoLogger implements TemporalLogger {
  constructor(private readonly logger: Logger) {}

  log(level: TemporalLogLevel, message: string, meta?: LogMetadata): void {
    const fields: Record<string, unknown> = { ...meta, source: 'temporal' };
    let text = message;
    for (const [key, value] of Object.entries(fields)) {
      if (!looksLikeError(value)) continue;
      const described = describeError(value, message);
      fields[key] = described;
      text = `${message}: ${described.message}`;
    }
    this.logger[TO_PINO[level]](fields, text);
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
