/** `pgkeeper restore <backup|latest> --target <db>`: a safe restore (staging copy, validation, swap). */
import type { Client } from '@temporalio/client';
import type { Config } from '../../common/config.js';
import { normalizeRestoreInput, type RestoreInput } from '../../common/restore-input.js';
import type { RestorePhase, RestoreResult } from '../../common/types.js';
import type { restoreDatabase } from '../../workflows/restore-database.js';
import { checkInput, failedRun } from '../cli-error.js';
import { cliSurface } from '../cli-surface.js';
import { count, formatDuration, showLines } from '../format.js';
import { announceOnceChecked } from '../first-steps.js';
import { showProgress } from '../progress.js';
import { announceStart, startOnDatabase } from '../start-workflow.js';
import { workflowOutcome } from '../workflow-outcome.js';

/**
 * Where a restore may still be refused before it creates anything (no such backup, no identity for
 * it, a target that exists without --replace, roles missing): watched without --wait.
 */
const REFUSING_PHASES: ReadonlySet<RestorePhase> = new Set(['resolving backup', 'waiting for database', 'checking target', 'applying globals']);

export interface RestoreCommandOptions {
  target: string;
  database?: string;
  replace?: boolean;
  confirm?: string;
  jobs?: number;
  owner: boolean;
  privileges: boolean;
  tablespaces: boolean;
  globals?: string;
  store?: string;
  wait?: boolean;
}

export function restoreInputFromOptions(backup: string, options: RestoreCommandOptions): RestoreInput {
  return {
    backup,
    target: options.target,
    ...(options.database !== undefined ? { database: options.database } : {}),
    ...(options.replace ? { mode: 'replace' as const } : {}),
    ...(options.confirm !== undefined ? { confirm: options.confirm } : {}),
    ...(options.jobs !== undefined ? { jobs: options.jobs } : {}),
    ...(options.owner === false ? { noOwner: true } : {}),
    ...(options.privileges === false ? { noPrivileges: true } : {}),
    ...(options.tablespaces === false ? { noTablespaces: true } : {}),
    ...(options.globals !== undefined ? { globals: options.globals } : {}),
    ...(options.store !== undefined ? { store: options.store } : {}),
  };
}

function printRestoreResult(result: RestoreResult): void {
  const lines = [
    `restored ${result.backup.label} (of "${result.backup.database}") into "${result.target}"`,
    `  from       ${result.backup.store}`,
    `  checksum   ${result.backup.checksum}`,
    `  content    ${count(result.tables, 'table')}, ${count(result.rows, 'row')} (pg_restore -j ${result.jobs})`,
    `  took       ${formatDuration(result.durationsMs.total)} (fetch ${formatDuration(result.durationsMs.fetch)}, restore ${formatDuration(result.durationsMs.restore)}, validate ${formatDuration(result.durationsMs.validate)})`,
  ];
  if (result.globals) {
    const tablespaces = result.globals.tablespaces?.length ? `; tablespaces ${result.globals.tablespaces.join(', ')}` : '';
    lines.push(`  globals    ${result.globals.id}: created ${result.globals.created.join(', ') || 'no roles (all existed)'}${tablespaces}`);
  }
  if (result.keptPrevious) lines.push(`  previous   kept as "${result.keptPrevious}" (drop it when you no longer need it)`);
  for (const warning of result.warnings) lines.push(`  warning    ${warning}`);
  process.stdout.write(showLines(lines));
}

export async function restoreCommand(connect: () => Promise<Client>, config: Config, backup: string, options: RestoreCommandOptions): Promise<void> {
  const input = restoreInputFromOptions(backup, options);
  checkInput(() => normalizeRestoreInput(input, cliSurface));
  const handle = await startOnDatabase<typeof restoreDatabase>(await connect(), config, 'restoreDatabase', input, input.target);
  const what = `restore of ${backup} into "${input.target}"`;
  const failed = (err: unknown) => failedRun(`restore into "${input.target}" failed`, err, { target: input.target, globals: input.globals, replace: input.mode === 'replace' });
  if (!options.wait) return announceOnceChecked(config, what, handle, REFUSING_PHASES, failed);
  announceStart(config, what, handle);
  try {
    printRestoreResult(await showProgress(handle, workflowOutcome(handle, config.temporal.address), config.temporal.taskQueue));
  } catch (err) {
    throw failed(err);
  }
}
