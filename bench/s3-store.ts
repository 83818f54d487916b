/**
 * The S3 driver alone against a local versitygw: upload and download throughput of one generated
 * stream, and this process's peak RSS while uploading (the driver holds a bounded number of parts
 * whatever the size). A write of the same stream to a local file is the baseline.
 *
 *   MALLOC_ARENA_MAX=2 node --max-semi-space-size=1 --heap-growing-percent=100 --import tsx bench/s3-store.ts [--mb 500]   (the worker's settings, bin/pgkeeper-worker)
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { openS3Store } from '../activities/store/s3-store.js';
import { partSizeFor, QUEUE_SIZE } from '../activities/store/s3-upload.js';
import { digestStream, generatedStream } from '../test/helpers/byte-streams.js';
import { startS3Server } from '../test/helpers/s3-server.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '500' } } });
const MiB = 1024 * 1024;
const totalBytes = Number(values.mb) * MiB;
const PIPE_CHUNK = 64 * 1024; // what pg_dump's stdout gives

function rssMiB(): number {
  return process.memoryUsage.rss() / MiB;
}

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 10 ms). */
function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Runs `fn` while sampling RSS every 50 ms; returns its duration, the highest RSS seen, and the CPU
 * seconds this process and the server spent (on a shared machine, CPU time is steadier than speed).
 */
async function measured(fn: () => Promise<unknown>) {
  let peak = rssMiB();
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 50);
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const serverCpu = cpuSecondsOf(server.pid());
  try {
    await fn();
  } finally {
    clearInterval(sampler);
  }
  const used = process.cpuUsage(cpu);
  return {
    seconds: +(Number(process.hrtime.bigint() - started) / 1e9).toFixed(2),
    peakRssMiB: Math.round(Math.max(peak, rssMiB())),
    cpuSeconds: +((used.user + used.system) / 1e6).toFixed(2),
    serverCpuSeconds: +(cpuSecondsOf(server.pid()) - serverCpu).toFixed(2),
  };
}

const server = await startS3Server();
const scratch = mkdtempSync(path.join(os.tmpdir(), 'pgkeeper-bench-disk-'));
const store = openS3Store(`s3://${server.bucket}/bench`, { endpoint: server.endpoint, credentials: server.credentials });
try {
  await store.check();
  const baselineRssMiB = rssMiB();

  const toDisk = generatedStream(totalBytes, undefined, PIPE_CHUNK);
  const disk = await measured(() => pipeline(toDisk.stream, createWriteStream(path.join(scratch, 'stream.bin'))));

  const source = generatedStream(totalBytes, undefined, PIPE_CHUNK);
  const upload = await measured(() => store.put('bench/stream.dump', source.stream, { expectedBytes: totalBytes }));
  let back = { sha256: '', sizeBytes: 0 };
  const download = await measured(async () => (back = await digestStream(await store.get('bench/stream.dump'))));
  if (back.sha256 !== (await source.sha256) || back.sizeBytes !== totalBytes) throw new Error('the downloaded stream differs from the uploaded one');
  await store.delete('bench/stream.dump');

  const mbps = (s: number) => Math.round(totalBytes / MiB / s);
  console.log(
    JSON.stringify(
      {
        streamMiB: totalBytes / MiB,
        partSizeMiB: partSizeFor(totalBytes) / MiB,
        queueSize: QUEUE_SIZE,
        baselineRssMiB: Math.round(baselineRssMiB),
        loadAverage: os.loadavg()[0]!.toFixed(1),
        disk: { MiBps: mbps(disk.seconds), ...disk },
        upload: { MiBps: mbps(upload.seconds), ...upload },
        download: { MiBps: mbps(download.seconds), ...download },
      },
      null,
      2,
    ),
  );
} finally {
  store.close();
  await server.stop();
  rmSync(scratch, { recursive: true, force: true });
}
