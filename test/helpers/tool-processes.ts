/**
 * The external tools of pgkeeper's streams (pg_dump, pg_restore, zstd, age) that belong to one
 * worker: the descendants of a process (an in-process worker: the test process itself), or the
 * members of a process group (a spawned worker). Only what the test started is looked at, never
 * the machine's other processes.
 */
import { execFileSync } from 'node:child_process';

export const STREAM_TOOLS = ['pg_dump', 'pg_restore', 'zstd', 'age'] as const;

interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  comm: string;
  args: string;
}

function processTable(): Proc[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,pgid=,comm=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), pgid: Number(m[3]), comm: m[4]!, args: m[5]! }));
}

const isTool = (p: Proc) => (STREAM_TOOLS as readonly string[]).includes(p.comm);

/** Stream tools below `pid` (default: this test process), as "comm args" lines. */
export function toolsBelow(pid = process.pid): string[] {
  return toolProcessesBelow(pid).map((p) => `${p.comm} ${p.args}`);
}

/** The process ids of the stream tools below this test process whose "comm args" line matches `pattern`. */
export function toolPidsBelow(pattern: RegExp): number[] {
  return toolProcessesBelow(process.pid)
    .filter((p) => pattern.test(`${p.comm} ${p.args}`))
    .map((p) => p.pid);
}

function toolProcessesBelow(pid: number): Proc[] {
  const table = processTable();
  const below = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of table) {
      if (below.has(p.ppid) && !below.has(p.pid)) {
        below.add(p.pid);
        grew = true;
      }
    }
  }
  return table.filter((p) => p.pid !== pid && below.has(p.pid) && isTool(p));
}

/** Stream tools in process group `pgid` (a spawned worker's group: its tools stay in it even once orphaned). */
export function toolsInGroup(pgid: number): string[] {
  return processTable()
    .filter((p) => p.pgid === pgid && isTool(p))
    .map((p) => `${p.comm} ${p.args}`);
}

/** Which of the stream tools appear in `lines`. */
export function toolNames(lines: string[]): string[] {
  return [...new Set(lines.map((l) => l.split(' ')[0]!))].sort();
}
