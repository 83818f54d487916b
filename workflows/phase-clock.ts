/** Which phase a workflow is in (for its `progress` query) and how long the previous one took. */
export type PhaseClock<P extends string> = ReturnType<typeof phaseClock<P>>;

export function phaseClock<P extends string>(initial: P) {
  let phase = initial;
  let startedMs = Date.now();
  return {
    /** Enters `next`; returns the duration of the phase just left, in ms. */
    enter(next: P): number {
      const now = Date.now();
      const previousMs = now - startedMs;
      phase = next;
      startedMs = now;
      return previousMs;
    },
    current(): { phase: P; phaseStartedAt: string } {
      return { phase, phaseStartedAt: new Date(startedMs).toISOString() };
    },
  };
}
