/** What a killed worker left in a local directory (scratch files, named-pipe directories): removed once older than any run may last. */
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * What a run leaves (a scratch file, named pipes, a staging database) outlives it by this much at
 * most: every attempt of a dump or restore ends within 24 h, and a live scratch file is touched.
 */
export const LEFT_BEHIND_MS = 2 * 86_400_000;

export async function sweepStale(dir: string, prefix: string, olderThanMs: number): Promise<void> {
  for (const name of (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(prefix))) {
    const left = path.join(dir, name);
    const stat = await fs.stat(left).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > olderThanMs) await fs.rm(left, { recursive: true, force: true });
  }
}
