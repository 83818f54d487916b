/**
 * Runs `work` over `items` with at most `limit` at once, keeping the input order in the result:
 * a cluster's databases backed up a few at a time, manifests read a few at a time where one after
 * another would wait on each round trip. The first failure rejects, once the work under way has
 * settled, and no further item starts: a store that stopped answering is not asked for the rest.
 * (No Node built-ins: workflows use it too.)
 */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`mapWithConcurrency: limit must be a whole number of at least 1; got ${limit}`);
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i]!);
      } catch (err) {
        failure ??= { err }; // the first in time: it decides (a store not answering, say), not the others it caused
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw failure.err;
  return results;
}
