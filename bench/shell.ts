/**
 * The baselines, as shell commands: the extraction floor, what the old backup.sh and restore.sh
 * ran, and the bare pipeline that does the same work as the backup workflow with the same filters.
 * Each runs under `bash -c` with only the PG* environment a script would have; its time and the
 * CPU of every process it started (reaped children of this process) are measured.
 */
import { execa } from 'execa';
import { cpuOf, cpuSince, timed, type Cpu } from './measure.js';
import type { PgTools } from './postgres.js';

export interface ShellRun {
  ms: number;
  cpu: Cpu;
  stdout: string;
}

async function bash(tools: PgTools, what: string, script: string, args: string[]): Promise<ShellRun> {
  const before = cpuOf('self');
  const { ms, value } = await timed(() =>
    execa('bash', ['-c', script, 'bench', ...args], { env: tools.env, extendEnv: false, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', reject: false }),
  );
  if (value.failed) throw new Error(`${what} failed (exit ${value.exitCode ?? value.signal}): ${String(value.stderr).trim().split('\n').slice(-5).join(' | ')}`);
  return { ms, cpu: cpuSince(before, cpuOf('self')), stdout: String(value.stdout) };
}

/** `pg_dump -Fc -Z0 > /dev/null`: reading the data out of PostgreSQL, nothing else. */
export function extractionFloor(tools: PgTools, database: string): Promise<ShellRun> {
  return bash(tools, 'the extraction floor', 'set -euo pipefail; pg_dump -Fc -Z0 -d "$1" > /dev/null', [database]);
}

/** What backup.sh ran: `pg_dump -Fc` at pg_dump's default (gzip) compression, into a file. */
export function scriptBackup(tools: PgTools, database: string, file: string): Promise<ShellRun> {
  return bash(tools, 'the script backup', 'set -euo pipefail; pg_dump -Fc -d "$1" > "$2"', [database, file]);
}

/** What restore.sh ran: drop the database, create it empty, pg_restore the archive into it. */
export function scriptRestore(tools: PgTools, file: string, target: string): Promise<ShellRun> {
  return bash(tools, 'the script restore', 'set -euo pipefail; dropdb --if-exists "$1"; createdb "$1"; pg_restore -d "$1" "$2"', [target, file]);
}

/**
 * The backup workflow's stream as a shell pipeline: pg_dump -Fc -Z0; `pg_restore --list` and the
 * `pg_restore -f /dev/null` read-through on pg_dump's bytes; zstd -N -T0; with a recipient, a
 * SHA-256 of the compressed plaintext and age; SHA-256 of the stored bytes; into a file, then
 * fsync'd with its directory, as the store does before the backup counts (the time of the fsync
 * alone is printed, `fsync_ms=N`). Named pipes rather than `>(...)`, so that bash waits for every
 * reader and reports its exit status; `tee -p` carries on when a reader stops early (pg_restore
 * --list needs only the table of contents).
 */
const PIPELINE = `
set -euo pipefail
db=$1 out=$2 level=$3 recipient=\${4:-}
fifos=$(mktemp -d)
trap 'rm -rf "$fifos"' EXIT
mkfifo "$fifos/toc" "$fifos/read" "$fifos/stored"
pg_restore --list < "$fifos/toc" > /dev/null & toc=$!
pg_restore -f /dev/null < "$fifos/read" & readback=$!
sha256sum < "$fifos/stored" > "$out.sha256" & stored=$!
if [[ -n $recipient ]]; then
  mkfifo "$fifos/plain"
  sha256sum < "$fifos/plain" > /dev/null & plain=$!
  pg_dump -Fc -Z0 -d "$db" | tee -p "$fifos/toc" "$fifos/read" | zstd -"$level" -T0 -q -c | tee -p "$fifos/plain" | age -r "$recipient" | tee -p "$fifos/stored" > "$out"
  wait $plain
else
  pg_dump -Fc -Z0 -d "$db" | tee -p "$fifos/toc" "$fifos/read" | zstd -"$level" -T0 -q -c | tee -p "$fifos/stored" > "$out"
fi
wait $toc
wait $readback
wait $stored
synced=$EPOCHREALTIME
sync "$out" "$(dirname "$out")"
echo "fsync_ms=$(( (\${EPOCHREALTIME/./} - \${synced/./}) / 1000 ))"
`;

export async function barePipeline(tools: PgTools, database: string, file: string, zstdLevel: number, recipient?: string): Promise<ShellRun & { fsyncMs: number }> {
  const run = await bash(tools, `the bare pipeline${recipient ? ' with age' : ''}`, PIPELINE, [database, file, String(zstdLevel), ...(recipient ? [recipient] : [])]);
  return { ...run, fsyncMs: Number(/fsync_ms=(\d+)/.exec(run.stdout)?.[1] ?? Number.NaN) };
}

/** `age-keygen` into `file`; returns the public key (the recipient). */
export async function makeAgeKey(file: string): Promise<string> {
  const { stderr } = await execa('age-keygen', ['-o', file], { stdin: 'ignore' });
  const match = /Public key: (age1\S+)/.exec(String(stderr));
  if (!match) throw new Error(`age-keygen printed no public key: ${String(stderr)}`);
  return match[1]!;
}

/** `<tool> --version`, first line, for the record. */
export async function toolVersion(tools: PgTools, tool: string): Promise<string> {
  const result = await execa(tool, ['--version'], { env: tools.env, extendEnv: false, stdin: 'ignore', reject: false });
  return result.failed ? 'not found' : String(result.stdout || result.stderr).trim().split('\n')[0]!;
}
