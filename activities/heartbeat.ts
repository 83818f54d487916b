/**
 * Periodic heartbeats while a long activity runs. They tell Temporal the worker is alive (a dead
 * worker is noticed after heartbeatTimeout) and are the only way a cancellation reaches the activity.
 * The SDK throttles what it sends, so a short interval costs nothing.
 */
import { Context } from '@temporalio/activity';

export function heartbeatEvery(intervalMs: number, details: () => unknown): () => void {
  const ctx = Context.current();
  ctx.heartbeat(details());
  const timer = setInterval(() => ctx.heartbeat(details()), intervalMs);
  return () => clearInterval(timer);
}
