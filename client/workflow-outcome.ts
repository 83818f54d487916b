/**
 * Waiting for a run's outcome across a lost connection to Temporal (a server restarted, a network
 * cut): the run goes on there, so a wait that ends with the connection is no failure of the run.
 * It is asked for again until Temporal answers, for two minutes; then the CLI says the run goes
 * on and where to follow it, rather than "backup failed: 14 UNAVAILABLE …".
 */
import { CliError } from './cli-error.js';

/** gRPC's UNAVAILABLE and DEADLINE_EXCEEDED: Temporal not reached, not a verdict on the run. */
const NOT_REACHED = new Set([14, 4]);
const RECONNECT_FOR_MS = 120_000;

function notReached(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === 'number' && NOT_REACHED.has(e.code)) return true;
  }
  return false;
}

export async function workflowOutcome<R>(handle: { workflowId: string; result(): Promise<R> }, address: string): Promise<R> {
  let lostAtMs: number | undefined;
  for (;;) {
    const askedAtMs = Date.now();
    try {
      return await handle.result();
    } catch (err) {
      if (!notReached(err)) throw err;
      // A wait that went on for a while before failing was answered: this is a new outage.
      if (lostAtMs === undefined || Date.now() - askedAtMs > 30_000) lostAtMs = Date.now();
      if (Date.now() - lostAtMs >= RECONNECT_FOR_MS) {
        throw new CliError(
          `lost the connection to Temporal at ${address} for ${RECONNECT_FOR_MS / 60_000} min while waiting (${(err as Error).message.split('\n')[0]}); workflow ${handle.workflowId} goes on there: \`pgkeeper history\`, or the ui link above, tells how it ends`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
}
