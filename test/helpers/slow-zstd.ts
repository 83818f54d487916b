/**
 * A zstd that takes two seconds to start decompressing, first on PATH while `fn` runs: a restore's
 * fetch then outlasts a heartbeat, so a test can look at what holds while it reads (pins).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './temp-dirs.js';

export async function withSlowZstdDecompression<T>(fn: () => Promise<T>): Promise<T> {
  const bin = tempDir('slow-zstd');
  const zstd = execFileSync('sh', ['-c', 'command -v zstd'], { encoding: 'utf8' }).trim();
  writeFileSync(path.join(bin, 'zstd'), `#!/bin/sh\n[ "$1" = -d ] && sleep 2\nexec ${zstd} "$@"\n`, { mode: 0o755 });
  const path0 = process.env.PATH;
  process.env.PATH = `${bin}:${path0}`;
  try {
    return await fn();
  } finally {
    process.env.PATH = path0;
  }
}
