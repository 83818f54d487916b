/**
 * One run of an archive stream: the processes and stages it involves share one abort signal, and
 * the real failure is what the user sees. When pg_dump fails, the pg_restore readers see their
 * input end too early and the store sees a stream error: those follow from it. So a failure is a
 * cause (a tool's own exit status and stderr, the store refusing, the activity being cancelled)
 * or a symptom (plumbing errors, a tool killed by SIGPIPE because its reader went away), and a
 * cause has a rank: the nearer the source of the stream, the lower, and the lowest rank wins,
 * whichever came first.
 */

/** Plumbing errors that only echo a failure elsewhere in the stream. */
const SYMPTOMS = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END', 'ABORT_ERR']);

function isSymptom(err: unknown): boolean {
  const e = err as { code?: string; name?: string };
  return SYMPTOMS.has(e?.code ?? '') || e?.name === 'AbortError';
}

export class StreamRun {
  private readonly controller = new AbortController();
  private cause: { err: unknown; rank: number } | undefined;
  private symptom: unknown;

  /** `cancel`: the activity's cancellation signal; its reason becomes the run's cause. */
  constructor(cancel?: AbortSignal) {
    if (cancel?.aborted) this.fail(cancel.reason, Rank.Cancelled);
    cancel?.addEventListener('abort', () => this.fail(cancel.reason, Rank.Cancelled), { once: true });
  }

  /** Aborts every process and stage of the run. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get failed(): boolean {
    return this.controller.signal.aborted;
  }

  /** Records a failure and stops the whole stream. The cause of lowest rank is kept. */
  fail(err: unknown, rank: number = Rank.Stage): void {
    if (isSymptom(err)) this.symptom ??= err;
    else if (!this.cause || rank < this.cause.rank) this.cause = { err, rank };
    if (!this.controller.signal.aborted) this.controller.abort(err);
  }

  /**
   * A failure that only follows from another (a tool killed by SIGPIPE: whatever read it has gone).
   * It does not stop the run: the failure it follows from does, with its own reason (the store's
   * refusal, say), which an abort here would replace by an AbortError.
   */
  symptomOf(err: unknown): void {
    this.symptom ??= err;
  }

  /** What went wrong: the lowest-ranked cause, else the first symptom, else undefined. */
  error(): unknown {
    return this.cause ? this.cause.err : this.symptom;
  }

  /** Waits for every part to settle (processes dead, files closed), then throws the run's error if any. */
  async settle(parts: Promise<unknown>[]): Promise<void> {
    const results = await Promise.allSettled(parts);
    for (const r of results) if (r.status === 'rejected') this.fail(r.reason);
    if (this.failed) throw this.error();
  }
}

/** Where in the stream a failure starts: lower wins. */
export const Rank = {
  Cancelled: 0,
  /** pg_dump, the source of everything. */
  Source: 1,
  /** The store refusing or going away. */
  Store: 2,
  /** Anything between (tee, zstd, age, this process's stages). */
  Stage: 3,
  /** The readers of the stream (pg_restore --list, the read-through, the byte count). */
  Reader: 4,
} as const;
