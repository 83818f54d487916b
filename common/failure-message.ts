/** The root of a Temporal failure chain (workflow -> child -> activity -> application failure): what a person must read first. */

interface Chained {
  message?: string;
  cause?: unknown;
  type?: string | null;
  details?: unknown[] | null;
}

function deepest(err: unknown): Chained | undefined {
  let current = err as Chained | undefined;
  let found: Chained | undefined;
  while (current) {
    if (current.message) found = current;
    current = current.cause as Chained | undefined;
  }
  return found;
}

/** How the SDK begins the failure of a run its worker replayed with workflow code that differs from the code that began it. */
const NONDETERMINISM = /^\[TMPRL1100\] Nondeterminism error/;

/** The most specific message in the chain; the SDK's words for a run stopped by an upgrade, said as a person needs them. */
export function rootCauseMessage(err: unknown): string {
  const message = deepest(err)?.message ?? String(err);
  if (!NONDETERMINISM.test(message)) return message;
  return `this run began under another pgkeeper version (its workers were upgraded while it ran) whose steps differ, so it was stopped where it was; start it again (${message})`;
}

/** The type of the most specific application failure in the chain (e.g. "ChecksumMismatch"). */
export function rootCauseType(err: unknown): string | undefined {
  let current = err as Chained | undefined;
  let type: string | undefined;
  while (current) {
    if (current.type) type = current.type;
    current = current.cause as Chained | undefined;
  }
  return type;
}

/** The details of the deepest failure that carries any (a cluster backup's per-database outcomes). */
export function rootCauseDetails(err: unknown): unknown[] | undefined {
  let current = err as Chained | undefined;
  let details: unknown[] | undefined;
  while (current) {
    if (current.details?.length) details = current.details;
    current = current.cause as Chained | undefined;
  }
  return details;
}
