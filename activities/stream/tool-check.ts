/** Fails at once, with one line saying what to install, when a filter's tool is missing on the worker. */
import { execa } from 'execa';
import type { FilterStep } from '../../common/filters.js';
import { toolEnvironment } from './tool-env.js';
import { toolMissing } from './tool-process.js';

const present = new Map<string, Promise<void>>();

async function probe(tool: string): Promise<void> {
  const result = await execa(tool, ['--version'], { reject: false, stdin: 'ignore', env: toolEnvironment(), extendEnv: false });
  if (result.code === 'ENOENT' || result.exitCode === 127) throw toolMissing(tool);
}

/** Fails naming every missing tool at once, so installing what it says is enough. */
export async function requireTools(tools: string[]): Promise<void> {
  const unique = [...new Set(tools)];
  const checks = unique.map((tool) => {
    let check = present.get(tool);
    if (!check) {
      check = probe(tool);
      present.set(tool, check);
      check.catch(() => present.delete(tool)); // installed later: ask again next time
    }
    return check;
  });
  const settled = await Promise.allSettled(checks);
  const [first, ...more] = unique.filter((_, i) => settled[i]!.status === 'rejected').sort();
  if (first !== undefined) throw toolMissing(first, ...more);
}

/** The tools a filter chain runs (zstd, age), checked at once. */
export async function requireFilterTools(filters: FilterStep[]): Promise<void> {
  await requireTools(filters.map((f) => (f.filter === 'zstd' ? 'zstd' : 'age')));
}
