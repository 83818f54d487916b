/**
 * One run of an archive stream: the processes and stages it involves share one abort signal, and
 * the first real failure is what the user sees. When pg_dump fails, zstd sees its stdin close and
 * the store sees a stream error: those are symptoms. A stage's own reason (a tool's exit status and
 * stderr, the store refusing, the activity being cancelled) is a cause and wins over symptoms.
 */

/** Plumbing errors that only echo a failure elsewhere in the stream. */
const SYMPTOMS = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END', 'ABORT_ERR']);

function isSymptom(err: unknown): boolean {
  const e = err as { code?: string; name?: string };
  return SYMPTOMS.has(e?.code ?? '') || e?.name === 'AbortError';
}

export class StreamRun {
  private readonly controller = new AbortController();
  private cause: unknown;
  private symptom: unknown;

  /** `cancel`: the activity's cancellation signal; its reason becomes the run's cause. */
  constructor(cancel?: AbortSignal) {
    if (cancel?.aborted) this.fail(cancel.reason);
    cancel?.addEventListener('abort', () => this.fail(cancel.reason), { once: true });
  }

  /** Aborts every process and stage of the run. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get failed(): boolean {
    return this.controller.signal.aborted;
  }

  /** Records a failure and stops the whole stream. Only the first cause is kept. */
  fail(err: unknown): void {
    if (isSymptom(err)) this.symptom ??= err;
    else this.cause ??= err;
    if (!this.controller.signal.aborted) this.controller.abort(err);
  }

  /** What went wrong: the first cause, else the first symptom, else undefined. */
  error(): unknown {
    return this.cause ?? this.symptom;
  }

  /** Waits for every part to settle (processes dead, files closed), then throws the run's error if any. */
  async settle(parts: Promise<unknown>[]): Promise<void> {
    const results = await Promise.allSettled(parts);
    for (const r of results) if (r.status === 'rejected') this.fail(r.reason);
    if (this.failed) throw this.error();
  }
}
