/**
 * dumpBytes (the bytes pg_dump wrote: the scratch space a restore needs) comes from the summary the
 * real zstd prints with the arguments the backup stream uses: every size, from empty to megabytes
 * (zstd pads small numbers), and the older zstd 1.4 wording.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { forwardTool, inverseTool, zstdInputBytes } from '../activities/stream/filter-tools.js';

describe('zstd size summary', () => {
  it('gives exactly the bytes zstd read, whatever their number', () => {
    const tool = forwardTool({ filter: 'zstd', level: 1 });
    for (const size of [0, 1, 999, 1672, 65_536, 3_000_001]) {
      const input = Buffer.concat([randomBytes(Math.floor(size / 2)), Buffer.alloc(size - Math.floor(size / 2), 'a')]);
      const run = spawnSync(tool.file, tool.args, { input, maxBuffer: 1 << 26 });
      assert.equal(run.status, 0, String(run.stderr));
      assert.equal(zstdInputBytes(String(run.stderr)), size, `zstd's summary for ${size} bytes: ${String(run.stderr)}`);
    }
  });

  it('reads zstd 1.4 wording; refuses, naming zstd, when there is no summary', () => {
    assert.equal(zstdInputBytes('/*stdin*\\            : 29.61%   (349254891 => 103401654 bytes, /*stdout*\\) \n'), 349254891);
    assert.throws(
      () => zstdInputBytes('*** Zstandard CLI (64-bit) v1.3.0\n'),
      (err: unknown) => err instanceof ApplicationFailure && err.nonRetryable && /zstd printed no size summary .*install zstd 1.4 or newer/.test(err.message),
    );
  });
});

describe('zstd -d on a full disk', () => {
  it('is DiskFull naming SCRATCH_DIR, not a damaged archive', () => {
    const compressed = spawnSync('zstd', ['-q', '-c'], { input: randomBytes(1 << 20) }).stdout;
    const tool = inverseTool({ filter: 'zstd', level: 1 }, undefined, 'app-20261207T000000Z-00000000');
    // /dev/full: every write fails with ENOSPC, as a scratch disk filled by someone else would.
    const run = spawnSync('sh', ['-c', `exec ${tool.file} ${tool.args.join(' ')} > /dev/full`], { input: compressed });
    assert.notEqual(run.status, 0);
    const failure = tool.classify({ exitCode: run.status ?? undefined, stderr: String(run.stderr).trim() });
    assert.equal(failure.type, 'DiskFull', failure.message);
    assert.match(failure.message, /^no space left on device while zstd wrote the decompressed archive into the scratch file \(.*\); free space in SCRATCH_DIR or point it at a larger disk$/);
  });
});
