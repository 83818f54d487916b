/**
 * Temporary directories of a test process, removed when it exits, whether its tests passed or not.
 * (scripts/test.sh also points TMPDIR into its run directory, which goes at the end of the run:
 * that covers a test process killed before it could clean up.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const created: string[] = [];

export function tempDir(purpose: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `pgkeeper-${purpose}-`));
  if (created.length === 0) process.once('exit', removeAll);
  created.push(dir);
  return dir;
}

function removeAll(): void {
  for (const dir of created.reverse()) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Still a mount point (a test that failed before unmounting): its parent run directory is
      // removed by scripts/test.sh after unmounting.
    }
  }
}
