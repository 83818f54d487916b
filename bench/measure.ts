/**
 * Measuring one thing: wall time, CPU seconds (a process's own and its reaped children's, from
 * /proc: steadier than wall time on a shared machine) and peak resident memory of a process.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** CPU seconds of a process: its own (user + system) and its waited-for children's. */
export interface Cpu {
  own: number;
  children: number;
}

const TICK = 100; // USER_HZ: clock ticks per second on Linux

export function cpuOf(pid: number | 'self'): Cpu {
  // Fields after "(comm) ": state is [0]; utime [11], stime [12], cutime [13], cstime [14].
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)!.split(' ');
  const f = (i: number) => Number(fields[i]) / TICK;
  return { own: f(11) + f(12), children: f(13) + f(14) };
}

export function cpuSince(before: Cpu, after: Cpu): Cpu {
  return { own: round(after.own - before.own), children: round(after.children - before.children) };
}

export function round(x: number, digits = 2): number {
  const p = 10 ** digits;
  return Math.round(x * p) / p;
}

export function rssBytes(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // the process is gone
  }
}

/**
 * The peak RSS of `pid` while `during` runs: VmRSS sampled every 25 ms, and the kernel's own
 * high-water mark (VmHWM), reset first through /proc/<pid>/clear_refs when we may write it, so no
 * short peak between two samples is missed.
 */
export async function peakRss<T>(pid: number, during: () => Promise<T>): Promise<{ value: T; peakBytes: number; hwmExact: boolean }> {
  let hwmExact = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    hwmExact = false;
  }
  let peak = rssBytes(pid, 'VmRSS');
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pid, 'VmRSS'))), 25);
  try {
    const value = await during();
    peak = Math.max(peak, rssBytes(pid, 'VmRSS'));
    if (hwmExact) peak = Math.max(peak, rssBytes(pid, 'VmHWM'));
    return { value, peakBytes: peak, hwmExact };
  } finally {
    clearInterval(timer);
  }
}

/** Runs `fn`, returning its wall time in ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/** The process id of a direct child of this process whose command name is `comm` (e.g. the Temporal dev server). */
export function childNamed(comm: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && name === comm) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** CPU seconds of a set of processes (own time only), for a delta around a measure. */
export function cpuOfAll(pids: (number | undefined)[]): number {
  let total = 0;
  for (const pid of pids) {
    if (pid === undefined) continue;
    try {
      total += cpuOf(pid).own;
    } catch {
      // gone
    }
  }
  return total;
}
