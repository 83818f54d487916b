/**
 * What a benchmark run prints and writes: the comparison table (baseline, pgkeeper, ratio, target
 * ✓/✗, time against the extraction floor), the compression levels, where the CPU goes, the workflow
 * phases and timelines; and the JSON file with every sample.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { round } from './measure.js';
import { ROOT } from './processes.js';
import { comparisonTable, formatValue, markdownTable, row, type Row, type Samples } from './report.js';
import { formatTimeline, type Timeline } from './timeline.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export interface RunFacts {
  scale: number;
  reps: number;
  /** `--only`: the measures run, when not all were. */
  only?: string[];
  defaultCompression: string;
  /** Section 5's compressions, the default among them. */
  compressions: string[];
  database: string;
  dbBytes: number;
  versions: Record<string, string>;
  loadAtStart: number[];
  loadAtEnd: number[];
  timelines: Record<string, Timeline>;
  idleRssBytes: Record<string, number>;
}

/** Prints the tables and writes every sample to bench/results/<time>-scale<scale>.json; returns that file. */
export function summarize(s: Samples, run: RunFacts): string {
  const { scale, reps, defaultCompression } = run;
  const floor = s.m('floor');
  const t = (id: string, field = 'ms') => ({ value: s.m(id, field), samples: s.values(id, field) });
  const size = (id: string) => t(id, 'archiveBytes');
  const vsFloor = (id: string) => s.m(id) / floor;
  const ran = (id: string) => Number.isFinite(s.m(id));
  // A run with --only prints the rows it measured every side of, not a table of n/a.
  const measured = (r: Row) => [r.baseline, r.pgkeeper].every((side) => !side || Number.isFinite(side.value));
  const rows: Row[] = [
    row({ measure: 'extraction floor: `pg_dump -Fc -Z0 > /dev/null`', baseline: t('floor'), unit: 's', vsFloor: 1 }),
    row({ measure: 'backup: backup.sh (`pg_dump -Fc`) vs `pgkeeper backup --wait`', baseline: t('script.backup'), pgkeeper: t('cli.backup'), unit: 's', target: { max: 0.5, text: '≥ 2× faster' }, vsFloor: vsFloor('cli.backup') }),
    row({ measure: 'CLI start: `pgkeeper --help` (in every command above)', pgkeeper: t('cli.start'), unit: 's', target: { max: 500, text: '< 0.5 s', strict: true } }),
    row({ measure: `archive: \`pg_dump -Fc\` vs ${defaultCompression} (default)`, baseline: size('script.backup'), pgkeeper: size('cli.backup'), unit: 'MB', target: { max: 1, text: '≤ script' } }),
    row({ measure: 'restore: restore.sh (dropdb, createdb, pg_restore) vs `pgkeeper restore latest --wait`', baseline: t('script.restore'), pgkeeper: t('cli.restore.disk'), unit: 's', target: { max: 1, text: 'no slower' } }),
    row({ measure: `backupDatabase (${defaultCompression}, verify full) vs bare pipeline`, baseline: t('bare.zstd'), pgkeeper: t('workflow.disk'), unit: 's', target: { max: 1.1, text: '≤ 1.10' }, vsFloor: vsFloor('workflow.disk') }),
    row({ measure: '… its dump activity alone vs bare pipeline', baseline: t('bare.zstd'), pgkeeper: t('workflow.disk', 'dumpMs'), unit: 's' }),
    row({ measure: '… fsync of the archive (in both)', baseline: t('bare.zstd', 'fsyncMs'), unit: 's' }),
    row({ measure: `backupDatabase with age vs bare pipeline with age`, baseline: t('bare.age'), pgkeeper: t('workflow.age'), unit: 's', target: { max: 1.1, text: '≤ 1.10' }, vsFloor: vsFloor('workflow.age') }),
    row({ measure: 'encryption: backupDatabase with age vs without', baseline: t('workflow.disk'), pgkeeper: t('workflow.age'), unit: 's', target: { max: 1.05, text: '≤ 1.05' } }),
    row({ measure: 'bare pipeline: with age vs without (reference)', baseline: t('bare.zstd'), pgkeeper: t('bare.age'), unit: 's' }),
    row({ measure: 'backup to S3 vs to disk (backupDatabase)', baseline: t('workflow.disk'), pgkeeper: t('workflow.s3'), unit: 's', target: { max: 1.1, text: '≤ 1.10' }, vsFloor: vsFloor('workflow.s3') }),
    row({ measure: 'restore from S3 vs from disk (`pgkeeper restore --wait`)', baseline: t('cli.restore.disk'), pgkeeper: t('cli.restore.s3'), unit: 's', target: { max: 1.1, text: '≤ 1.10' } }),
    row({ measure: '… fetch phase alone (store → inverse filters → scratch file)', baseline: t('cli.restore.disk', 'fetchMs'), pgkeeper: t('cli.restore.s3', 'fetchMs'), unit: 's' }),
    row({ measure: 'worker peak RSS while uploading to S3', pgkeeper: t('workflow.s3', 'peakRssBytes'), unit: 'MB', target: { max: 200e6, text: '< 200 MB', strict: true } }),
    row({ measure: '… the same worker idle (after its first backup)', pgkeeper: { value: run.idleRssBytes.s3 ?? Number.NaN }, unit: 'MB' }),
    row({ measure: 'worker peak RSS: backup to disk; restore from S3', baseline: t('workflow.disk', 'peakRssBytes'), pgkeeper: t('cli.restore.s3', 'peakRssBytes'), unit: 'MB' }),
  ].filter(measured);

  const base = { time: s.m('workflow.disk'), size: s.m('workflow.disk', 'archiveBytes') };
  const levels = run.compressions.flatMap((c) => {
    const id = c === defaultCompression ? 'workflow.disk' : `workflow.${c}`;
    if (!ran(id)) return [];
    return { compression: c, default: c === defaultCompression, ms: s.m(id), archiveBytes: s.m(id, 'archiveBytes'), vsFloor: round(s.m(id) / floor, 2), timeVsDefault: round(s.m(id) / base.time, 3), sizeVsDefault: round(s.m(id, 'archiveBytes') / base.size, 3) };
  });
  const levelTable = markdownTable(
    ['backupDatabase compression', 'time', 'archive', '÷ floor', 'time vs default', 'archive vs default', 'archive vs `pg_dump -Fc`'],
    levels.map((l) => [
      `${l.compression}${l.default ? ' (default)' : ''}${l.compression === 'gzip:6' ? ' (= `pg_dump -Fc`)' : ''}`,
      formatValue(l.ms, 's'),
      formatValue(l.archiveBytes, 'MB'),
      Number.isFinite(l.vsFloor) ? `${l.vsFloor.toFixed(2)}×` : '',
      fixed2(l.timeVsDefault),
      fixed2(l.sizeVsDefault),
      fixed2(l.archiveBytes / s.m('script.backup', 'archiveBytes')),
    ]),
  );
  const cpu = (id: string) => s.m(id, 'toolsCpu');
  const cpuTable = markdownTable(
    ['where the CPU goes (median CPU seconds)', 'wall', 'tools (pg_dump, pg_restore, zstd, age, sha256sum, tee)', 'worker (node)', 'CLI (node)', 'Temporal dev server', 'versitygw'],
    [
      ['bare pipeline', 'bare.zstd'],
      ['backupDatabase', 'workflow.disk'],
      ['bare pipeline with age', 'bare.age'],
      ['backupDatabase with age', 'workflow.age'],
      ['backupDatabase to S3', 'workflow.s3'],
      ['`pgkeeper --help`', 'cli.start'],
      ['`pgkeeper backup --wait`', 'cli.backup'],
      ['`pg_dump -Fc` (backup.sh)', 'script.backup'],
      ['restore.sh', 'script.restore'],
      ['`pgkeeper restore --wait` (disk)', 'cli.restore.disk'],
      ['`pgkeeper restore --wait` (S3)', 'cli.restore.s3'],
    ]
      .filter(([, id]) => ran(id!))
      .map(([label, id]) => [label!, seconds(s.m(id!)), fixed2(cpu(id!)), fixed2(s.m(id!, 'workerCpu')), fixed2(s.m(id!, 'cliCpu')), fixed2(s.m(id!, 'temporalCpu')), fixed2(s.m(id!, 's3Cpu'))]),
  );
  const phasesOf = (id: string) =>
    ['waitMs', 'dumpMs', 'publishMs', 'copyMs', 'retentionMs', 'totalMs'].map((p) => `${p.replace('Ms', '')} ${seconds(s.m(id, p))}`).join(', ');

  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`;
  const noisy = run.loadAtStart[0]! > os.cpus().length / 2 || run.loadAtEnd[0]! > os.cpus().length / 2;
  process.stdout.write(
    [
      '',
      `${machine}; PostgreSQL ${run.versions.postgres}; database ${formatValue(run.dbBytes, 'MB')} (scale ${scale}); load average ${run.loadAtStart[0]!.toFixed(1)} at start, ${run.loadAtEnd[0]!.toFixed(1)} at end${noisy ? ' (BUSY MACHINE: noisy numbers)' : ''}`,
      '',
      comparisonTable(rows, reps),
      '',
      ...(levels.length ? [levelTable, ''] : []),
      cpuTable,
      '',
      ...(ran('workflow.disk') ? [`backupDatabase phases (disk, medians): ${phasesOf('workflow.disk')}`] : []),
      ...(ran('cli.restore.disk')
        ? [`restore phases (disk, medians): fetch ${seconds(s.m('cli.restore.disk', 'fetchMs'))}, restore ${seconds(s.m('cli.restore.disk', 'restoreMs'))}, validate ${seconds(s.m('cli.restore.disk', 'validateMs'))}, workflow total ${seconds(s.m('cli.restore.disk', 'totalMs'))}`]
        : []),
      ...(Object.keys(run.timelines).length ? ['Timelines of the last run of each (from workflow history):'] : []),
      ...Object.entries(run.timelines).map(([id, tl]) => `  ${id}: ${formatTimeline(tl)}`),
      '',
    ].join('\n'),
  );
  const date = new Date().toISOString();
  const results = {
    date,
    machine,
    loadAverage: { start: run.loadAtStart.map((l) => round(l, 2)), end: run.loadAtEnd.map((l) => round(l, 2)), noisy },
    versions: run.versions,
    database: { name: run.database, scale, bytes: run.dbBytes },
    settings: { reps, defaultCompression, ...(run.only ? { only: run.only } : {}) },
    rows,
    compression: levels,
    idleWorkerRssBytes: run.idleRssBytes,
    measures: s.toJSON(),
    timelines: run.timelines,
  };
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `${date.slice(0, 19).replace(/:/g, '')}-scale${scale}${run.only ? '-partial' : ''}.json`);
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  return out;
}

/** Two decimals, or nothing for a measure that did not run. */
function fixed2(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2) : '';
}

