/**
 * `mkdir -p`, one level at a time. Node's own `fs.mkdir(dir, { recursive: true })` loops for ever
 * (at full CPU, deaf to SIGTERM) on a path under /proc such as `/proc/x`: the child's mkdir says
 * ENOENT, the parent's EEXIST, and it tries the child again. A path that cannot be made fails here
 * with the errno of the level that could not be made.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

async function mkdirOne(dir: string, mode: number): Promise<void> {
  try {
    await fs.mkdir(dir, { mode });
  } catch (err) {
    if (code(err) !== 'EEXIST') throw err;
    // There already (made by a concurrent run, or by the user): fine if it is a directory.
    if (!(await fs.stat(dir)).isDirectory()) throw Object.assign(new Error(`${dir} exists and is not a directory`), { code: 'ENOTDIR' });
  }
}

export async function makeDirectories(dir: string, mode: number): Promise<void> {
  try {
    return await mkdirOne(dir, mode);
  } catch (err) {
    const parent = path.dirname(dir);
    if (code(err) !== 'ENOENT' || parent === dir) throw err;
    await makeDirectories(parent, mode);
  }
  await mkdirOne(dir, mode);
}
