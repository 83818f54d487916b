/** The dump's named pipes: a private directory each, and those a killed worker left swept once stale. */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { namedPipes } from '../activities/stream/linked-tools.js';

describe('named pipes of the dump', () => {
  it('are FIFOs in a 0700 directory; a directory a killed worker left is removed once two days old, a younger one kept', async () => {
    const left = await fs.mkdtemp(path.join(os.tmpdir(), 'pgkeeper-stream-'));
    const young = await fs.mkdtemp(path.join(os.tmpdir(), 'pgkeeper-stream-'));
    const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000);
    await fs.utimes(left, threeDaysAgo, threeDaysAgo);
    const pipes = await namedPipes(['toc']);
    try {
      assert.ok((await fs.stat(pipes.paths.toc!)).isFIFO());
      assert.equal((await fs.stat(path.dirname(pipes.paths.toc!))).mode & 0o777, 0o700);
      assert.equal(await fs.stat(left).catch(() => undefined), undefined, 'the stale one is gone');
      assert.ok(await fs.stat(young), 'a younger one (a dump running now) is kept');
    } finally {
      await pipes.remove();
      await fs.rm(young, { recursive: true, force: true });
    }
  });
});
