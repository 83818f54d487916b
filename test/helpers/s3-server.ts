/**
 * A real S3-compatible server for a test file: versitygw (from scripts/versitygw.sh) with its posix
 * backend in a fresh temporary directory, on a free 127.0.0.1 port, with random root credentials
 * given through its environment (never on a command line, never printed).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './ports.js';
import { waitFor } from './processes.js';

export interface S3Server {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** A bucket created at start, empty. */
  readonly bucket: string;
  /** The backend's directory: an object is the file `<dir>/<bucket>/<key>` (a test rots one there, behind the server's back). */
  readonly dir: string;
  /** An SDK client with the server's credentials, for setting up and inspecting what a test needs. */
  readonly client: S3Client;
  /** The running server's process id (benchmarks read its CPU time). */
  pid(): number | undefined;
  /** SIGSTOP: the port still accepts connections (the kernel queues them) but nothing answers. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** SIGKILL, keeping the data: connections are refused until restart(). */
  kill(): Promise<void>;
  /** Stops (if running) and starts again on the same port and directory. */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

export function versitygwPath(): string {
  if (process.env.VERSITYGW) return process.env.VERSITYGW;
  const script = fileURLToPath(new URL('../../scripts/versitygw.sh', import.meta.url));
  return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/**
 * SIGSTOP, and then waits until every thread of the process has stopped: a signal takes effect
 * when each thread next runs, and on a loaded machine one may still answer a request in between.
 */
function stopProcess(pid: number): void {
  process.kill(pid, 'SIGSTOP');
  const stopped = () =>
    readdirSync(`/proc/${pid}/task`).every((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(') ') + 2).startsWith('T'); // the state follows "(comm) "
    });
  const deadline = Date.now() + 5_000;
  while (!stopped()) if (Date.now() > deadline) throw new Error(`versitygw (pid ${pid}) did not stop within 5 s of SIGSTOP`);
}

export async function startS3Server(): Promise<S3Server> {
  const binary = versitygwPath();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgkeeper-s3-'));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const region = 'us-east-1';
  const credentials = { accessKeyId: randomBytes(10).toString('hex'), secretAccessKey: randomBytes(20).toString('hex') };
  const bucket = `pgk-${randomBytes(4).toString('hex')}`;
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    output = '';
    // --keep-alive: versitygw closes every connection after one request by default; S3 itself keeps
    // them open, and the client's pooled sockets are what a paused or killed server breaks.
    const args = ['--port', `127.0.0.1:${port}`, '--region', region, '--health', '/health', '--keep-alive', '--quiet', 'posix', dir];
    const proc = spawn(binary, args, {
      env: { ...process.env, ROOT_ACCESS_KEY_ID: credentials.accessKeyId, ROOT_SECRET_ACCESS_KEY: credentials.secretAccessKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(`versitygw on ${endpoint}`, async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`versitygw exited (${proc.exitCode ?? proc.signalCode}): ${output.trim()}`);
      return fetch(`${endpoint}/health`).then((r) => r.ok, () => false);
    }, 15_000);
  };

  const exited = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGCONT'); // a stopped process would hold SIGTERM until continued
      proc.kill('SIGKILL');
    });
  };

  await start();
  const client = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));

  return {
    endpoint,
    region,
    credentials,
    bucket,
    dir,
    client,
    pid: () => child?.pid,
    pause: () => child?.pid !== undefined && stopProcess(child.pid),
    resume: () => void child?.kill('SIGCONT'),
    kill: exited,
    restart: async () => {
      await exited();
      await start();
    },
    stop: async () => {
      client.destroy();
      await exited();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
