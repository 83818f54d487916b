/** pgkeeper runs from Temporal visibility, found by their search attributes. */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Config } from '../common/config.js';
import { CliError } from './cli-error.js';
import { PGK_BACKUP_ID, PGK_DATABASE, PGK_OPERATION, PGK_OUTCOME, PGK_STARTED_BY, type Operation } from '../common/search-attributes.js';

export interface RunRecord {
  workflowId: string;
  runId: string;
  operation: string;
  database: string;
  startedBy: string;
  outcome: string;
  backupId: string | undefined;
  startTime: Date;
  closeTime: Date | undefined;
  /** The run that started this one (UI/schedule hand-off, or a cluster backup). */
  parentWorkflowId: string | undefined;
}

const OPERATIONS: Operation[] = ['backup', 'restore', 'cluster', 'retention', 'drill', 'verify'];

/** Runs read at most when filtering by a name client-side: the newest of them are what history shows. */
const MAX_SCANNED = 5000;

/** A visibility query literal: single quotes doubled. */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * A run's outcome: the one it wrote, unless it closed without writing one (killed from outside,
 * terminated or timed out; or failed by its worker for a nondeterminism error, which runs none of
 * the workflow's code): then Temporal's word.
 */
function outcomeOf(status: WorkflowExecutionInfo['status']['name'], written: string | undefined): string {
  if (status === 'RUNNING') return written ?? '?';
  const closedByItself = (status === 'COMPLETED' || status === 'FAILED') && written !== undefined && written !== 'running';
  return closedByItself ? written : status.toLowerCase();
}

function toRecord(info: WorkflowExecutionInfo): RunRecord {
  const sa = info.typedSearchAttributes;
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    operation: sa.get(PGK_OPERATION) ?? '?',
    database: sa.get(PGK_DATABASE) ?? '?',
    startedBy: sa.get(PGK_STARTED_BY) ?? '?',
    outcome: outcomeOf(info.status.name, sa.get(PGK_OUTCOME)),
    backupId: sa.get(PGK_BACKUP_ID),
    startTime: info.startTime,
    closeTime: info.closeTime,
    parentWorkflowId: info.parentExecution?.workflowId ?? undefined,
  };
}

/**
 * Whether a value can be matched in a visibility query: one holding `"` or `\` never compares equal
 * (on the dev server's visibility store, however escaped), so such a name is filtered here instead.
 */
const queryable = (value: string | undefined): value is string => value !== undefined && !/["\\]/.test(value);

export function runsQuery(config: Config, filter: { database?: string; operations?: Operation[]; backupId?: string; outcome?: string }): string {
  const parts = [
    `TaskQueue = ${literal(config.temporal.taskQueue)}`,
    `PgkOperation IN (${(filter.operations ?? OPERATIONS).map(literal).join(', ')})`,
  ];
  if (queryable(filter.database)) parts.push(`PgkDatabase = ${literal(filter.database)}`);
  if (queryable(filter.backupId)) parts.push(`PgkBackupId = ${literal(filter.backupId)}`);
  if (filter.outcome !== undefined) parts.push(`PgkOutcome = ${literal(filter.outcome)}`);
  return parts.join(' AND ');
}

/**
 * The SDK says "Failed to list workflows"; the server, in the cause, that the query names an
 * attribute the namespace does not have: a namespace `pgkeeper setup` never ran on (exit 2, as for
 * other configuration errors).
 */
function attributesMissing(err: unknown, config: Config): CliError | undefined {
  const cause = (err as { cause?: { message?: string } } | undefined)?.cause?.message ?? '';
  const attribute = /'(Pgk\w+)' is not a valid search attribute/.exec(cause)?.[1];
  if (!attribute) return undefined;
  return new CliError(`namespace "${config.temporal.namespace}" has no search attribute ${attribute} (pgkeeper's are not registered there): run \`pgkeeper setup\` once, or set TEMPORAL_NAMESPACE to the namespace the worker uses`, 2);
}

/**
 * Newest first, at most `limit`. A run started from the UI or a schedule and the lock holder it
 * handed its work to carry the same attributes: they are one operation, shown once (as the run
 * that was started).
 */
export async function listRuns(client: Client, config: Config, filter: Parameters<typeof runsQuery>[1], limit: number): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  const wanted = (r: RunRecord) => (filter.database === undefined || r.database === filter.database) && (filter.backupId === undefined || r.backupId === filter.backupId);
  // Filtered here (a name the query cannot match): read in large pages, and not the whole queue's past.
  const here = (filter.database !== undefined && !queryable(filter.database)) || (filter.backupId !== undefined && !queryable(filter.backupId));
  let read = 0;
  try {
    for await (const info of client.workflow.list({ query: runsQuery(config, filter), pageSize: here ? 100 : Math.min(limit + 10, 100) })) {
      const run = toRecord(info);
      if (wanted(run)) runs.push(run);
      if (runs.length >= limit + 10 || ++read >= MAX_SCANNED) break;
    }
  } catch (err) {
    throw attributesMissing(err, config) ?? err;
  }
  const handedOff = (r: RunRecord) => runs.some((p) => p.workflowId === r.parentWorkflowId && p.operation === r.operation && p.database === r.database);
  return runs
    .filter((r) => !handedOff(r))
    .sort((a, b) => b.startTime.getTime() - a.startTime.getTime())
    .slice(0, limit);
}
