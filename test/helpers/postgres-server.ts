/**
 * Faults on the test run's own PostgreSQL cluster (never the machine's): restart it, or kill it the
 * way the OOM killer or a power cut would and start it again. pg_ctl runs as the cluster's owner
 * (the tests may run as root, which PostgreSQL refuses).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { testCluster } from './cluster.js';
import { waitFor } from './processes.js';

function pgCtl(...args: string[]): void {
  const c = testCluster();
  const command = [path.join(c.binDir, 'pg_ctl'), '-D', c.dataDir, '-l', c.logFile, '-w', '-t', '60', ...args];
  const [file, ...rest] = c.runAs ? ['runuser', '-u', c.runAs, '--', ...command] : command;
  try {
    // The cluster's owner may not be allowed into the test's working directory.
    execFileSync(file!, rest, { cwd: path.dirname(c.dataDir), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const log = readFileSync(c.logFile, 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`pg_ctl ${args.join(' ')} failed: ${String(err)}\nlast lines of ${c.logFile}:\n${log}`);
  }
}

/** The postmaster's process id, from the first line of postmaster.pid. */
export function postmasterPid(): number {
  return Number(readFileSync(path.join(testCluster().dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** A clean restart (fast shutdown: sessions are ended, then the server starts again). */
export function restartPostgres(): void {
  pgCtl('-m', 'fast', 'restart');
}

/**
 * SIGKILL to the postmaster: no shutdown at all. Returns once every server process of the old
 * postmaster is gone (until then a new one would refuse to start on the same data directory).
 */
export async function killPostgres(): Promise<void> {
  const pid = postmasterPid();
  const processes = [pid, ...childrenOf(pid)];
  process.kill(pid, 'SIGKILL');
  await waitFor("the killed PostgreSQL's processes to exit", () => !processes.some(running), 30_000);
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter((l) => l.trim() !== '').map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

/**
 * Still in the process table. A zombie counts: PostgreSQL refuses to start while the pid in
 * postmaster.pid answers kill(pid, 0), and a killed postmaster is a zombie until init reaps it.
 */
function running(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** Starts the cluster again (after killPostgres: with crash recovery). */
export function startPostgres(): void {
  pgCtl('start');
}
