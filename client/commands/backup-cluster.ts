/** `pgkeeper backup --all`: globals plus every database, with a per-database report. */
import type { Client } from '@temporalio/client';
import { normalizeClusterInput, type ClusterInput } from '../../common/cluster-input.js';
import type { Config } from '../../common/config.js';
import { rootCauseDetails } from '../../common/failure-message.js';
import type { ClusterResult } from '../../common/types.js';
import type { backupCluster } from '../../workflows/backup-cluster.js';
import { checkInput, failedRun } from '../cli-error.js';
import { cliSurface } from '../cli-surface.js';
import { formatBytes, showLines, table } from '../format.js';
import { announceOnceChecked } from '../first-steps.js';
import { announceStart, startExclusive } from '../start-workflow.js';
import { workflowOutcome } from '../workflow-outcome.js';

export interface ClusterCommandOptions {
  include?: string[];
  exclude?: string[];
  concurrency?: number;
  compression?: string;
  compressLevel?: number;
  verify?: string;
  wait?: boolean;
}

function printClusterResult(result: ClusterResult): void {
  const rows = [['DATABASE', 'OUTCOME', 'BACKUP / REASON', 'SIZE']];
  const g = result.globals;
  rows.push(['(globals)', g.status, (g.status === 'failed' ? g.reason : g.id) ?? '', '']);
  for (const d of result.databases) rows.push([d.database, d.status, d.backupId ?? d.reason ?? '', d.sizeBytes === undefined ? '' : formatBytes(d.sizeBytes)]);
  const notCopied = result.databases.flatMap((d) => (d.notCopied ?? []).map((k) => `NOT COPIED ${k.id} to ${k.store}: ${k.reason}`));
  const warnings = result.databases.flatMap((d) => (d.warnings ?? []).map((w) => `warning ${d.database}: ${w}`));
  process.stdout.write(table(rows) + '\n' + (notCopied.length || warnings.length ? showLines([...notCopied, ...warnings]) : ''));
}

export async function clusterCommand(connect: () => Promise<Client>, config: Config, options: ClusterCommandOptions): Promise<void> {
  const input: ClusterInput = {
    ...(options.include ? { include: options.include } : {}),
    ...(options.exclude ? { exclude: options.exclude } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.compression !== undefined ? { compression: options.compression } : {}),
    ...(options.compressLevel !== undefined ? { compressLevel: options.compressLevel } : {}),
    ...(options.verify !== undefined ? { verify: options.verify as ClusterInput['verify'] } : {}),
  };
  checkInput(() => normalizeClusterInput(input, cliSurface));
  const workflowId = `pgkeeper-cluster:${config.temporal.taskQueue}`;
  const handle = await startExclusive<typeof backupCluster>(await connect(), config, 'backupCluster', input, workflowId, 'a cluster backup is already running');
  const what = 'backup of all databases';
  // --include and --exclude that leave no database on the server: said now, not only in history.
  if (!options.wait) return announceOnceChecked(config, what, handle, new Set(['listing databases']), (err) => failedRun('cluster backup failed', err));
  announceStart(config, what, handle);
  try {
    printClusterResult(await workflowOutcome(handle, config.temporal.address));
  } catch (err) {
    // The per-database outcomes travel in the failure's details.
    const details = rootCauseDetails(err)?.[0] as ClusterResult | undefined;
    if (details?.databases) printClusterResult(details);
    throw failedRun('cluster backup failed', err);
  }
}
