/** What a killed worker left in a local directory (scratch files, named-pipe directories): removed once older than any run may last. */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export async function sweepStale(dir: string, prefix: string, olderThanMs: number): Promise<void> {
  for (const name of (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(prefix))) {
    const left = path.join(dir, name);
    const stat = await fs.stat(left).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > olderThanMs) await fs.rm(left, { recursive: true, force: true });
  }
}
