/** Restarting the local PostgreSQL cluster (Debian's pg_ctlcluster), for fault tests. Needs root. */
import { execFileSync } from 'node:child_process';

export function restartPostgres(port: number): void {
  const clusters = execFileSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[2] === String(port));
  if (clusters.length !== 1) throw new Error(`no single local cluster on port ${port}; this fault test needs a pg_ctlcluster-managed PostgreSQL`);
  const [version, cluster] = clusters[0]!;
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version!, cluster!, 'restart'], { stdio: 'inherit' });
}
