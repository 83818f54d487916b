/**
 * Temporal Schedules for pgkeeper: one schedule per database (`pgkeeper-backup:<queue>:<db>`) or
 * one for the whole server (`pgkeeper-cluster:<queue>`); restore drills of a database
 * (`pgkeeper-drill:<queue>:<db>`); reading the stores back (`pgkeeper-verify:<queue>[:<db>]`). Overlap SKIP (a run still going makes the
 * next one skip), an explicit catch-up window, optional jitter. The schedule starts the workflow
 * under its own timestamped id; the workflow then takes the database's lock, so a manual run and
 * a scheduled run of one database never overlap either.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleHandle, type ScheduleOptions, type ScheduleSpec } from '@temporalio/client';
import type { Config } from '../common/config.js';
import { InputError } from '../common/errors.js';
import { hasExtraInputs } from '../common/input-fields.js';
import { validateDatabaseName } from '../common/names.js';
import type { RetentionPolicy } from '../common/retention-plan.js';

export const DEFAULT_CRON = '0 2 * * *';
/** A run missed while Temporal was down still happens if the server is back within this window. */
export const CATCHUP_WINDOW = '12h';

/**
 * Through this module rather than a dynamic import of '@temporalio/client' in the command: once
 * bundled (scripts/bundle-cli.sh), such an import yields only the package's default export.
 */
export function isScheduleNotFound(err: unknown): err is ScheduleNotFoundError {
  return err instanceof ScheduleNotFoundError;
}

/**
 * What a schedule runs: backups of one database, of all of them (`--all`), restore drills of one
 * (`drill`), or `pgkeeper verify` of one database's archives or of every one (`verify`).
 */
export type ScheduleTarget = { database: string; drill?: boolean } | { all: true } | { verify: true; database?: string };

/** Drills default to weekly, Sunday 05:00: a restore is heavier than a backup. */
export const DEFAULT_DRILL_CRON = '0 5 * * 0';
/** Reading every archive back defaults to weekly too, Saturday 05:00: apart from the drills. */
export const DEFAULT_VERIFY_CRON = '0 5 * * 6';

/** The database whose backups the schedule makes, if it is a backup schedule of one. */
export function backedUpDatabase(target: ScheduleTarget): string | undefined {
  return 'verify' in target || 'all' in target || target.drill ? undefined : target.database;
}

export interface ScheduleSettings {
  cron?: string;
  every?: string;
  timezone?: string;
  jitter?: string;
  retention?: RetentionPolicy;
  compression?: string;
  compressLevel?: number;
  verify?: 'full' | 'toc';
  note?: string;
}

export function scheduleId(config: Config, target: ScheduleTarget): string {
  const queue = config.temporal.taskQueue;
  if ('all' in target) return `pgkeeper-cluster:${queue}`;
  if ('verify' in target) return `pgkeeper-verify:${queue}${target.database === undefined ? '' : `:${validateDatabaseName(target.database)}`}`;
  return `pgkeeper-${target.drill ? 'drill' : 'backup'}:${queue}:${validateDatabaseName(target.database)}`;
}

function describeTarget(target: ScheduleTarget): string {
  if ('all' in target) return 'backup of all databases';
  if ('verify' in target) return `verify (every archive read back) of ${target.database === undefined ? 'every backup' : `the backups of database "${target.database}"`}`;
  return `${target.drill ? 'restore drill' : 'backup'} of database "${target.database}"`;
}

export function scheduleSpec(settings: ScheduleSettings, defaultCron = DEFAULT_CRON): ScheduleSpec {
  if (settings.cron && settings.every) throw new InputError('give either --cron or --every, not both');
  return {
    ...(settings.every ? { intervals: [{ every: settings.every as `${number}s` }] } : { cronExpressions: [settings.cron ?? defaultCron] }),
    timezone: settings.timezone ?? 'UTC',
    ...(settings.jitter ? { jitter: settings.jitter as `${number}s` } : {}),
  };
}

function scheduleAction(config: Config, target: ScheduleTarget, settings: ScheduleSettings): ScheduleOptions['action'] {
  const shared = {
    ...(settings.compression !== undefined ? { compression: settings.compression } : {}),
    ...(settings.compressLevel !== undefined ? { compressLevel: settings.compressLevel } : {}),
    ...(settings.verify !== undefined ? { verify: settings.verify } : {}),
    ...(settings.retention ? { retention: settings.retention } : {}),
  };
  const base = { type: 'startWorkflow' as const, taskQueue: config.temporal.taskQueue };
  if ('verify' in target) {
    const input = target.database === undefined ? {} : { database: target.database };
    // Every backup's own id, not ':all': a database may be named "all".
    return { ...base, workflowType: 'verifyBackups', args: [input], workflowId: `pgkeeper-scheduled-verify:${config.temporal.taskQueue}${target.database === undefined ? '' : `:${target.database}`}` };
  }
  if (!('all' in target) && target.drill) {
    return { ...base, workflowType: 'restoreDrill', args: [{ database: target.database }], workflowId: `pgkeeper-scheduled-drill:${config.temporal.taskQueue}:${target.database}` };
  }
  return 'all' in target
    ? { ...base, workflowType: 'backupCluster', args: [shared], workflowId: `pgkeeper-scheduled:${config.temporal.taskQueue}:all` }
    : { ...base, workflowType: 'backupDatabase', args: [{ database: target.database, ...shared }], workflowId: `pgkeeper-scheduled:${config.temporal.taskQueue}:${target.database}` };
}

export async function createSchedule(client: Client, config: Config, target: ScheduleTarget, settings: ScheduleSettings): Promise<ScheduleHandle> {
  return client.schedule.create({
    scheduleId: scheduleId(config, target),
    spec: scheduleSpec(settings, 'verify' in target ? DEFAULT_VERIFY_CRON : !('all' in target) && target.drill ? DEFAULT_DRILL_CRON : DEFAULT_CRON),
    action: scheduleAction(config, target, settings),
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW, pauseOnFailure: false },
    memo: { pgkeeper: 'all' in target ? { all: true } : 'verify' in target ? { verify: true, ...(target.database === undefined ? {} : { database: target.database }) } : { database: target.database } },
    state: { note: settings.note || `pgkeeper ${describeTarget(target)}` }, // never empty: Temporal's pause ignores an empty note
  });
}

/** The input fields the CLI sets; the others (include, exclude, concurrency, waitTimeoutSeconds) only the UI does. */
const CLI_FIELDS = ['compression', 'compressLevel', 'verify', 'retention'];

/** `action` with the fields of `previousInput` the CLI does not set, as they were: an update of the retention must not widen --all to every database. */
function keepOtherFields(previousInput: Record<string, unknown>, action: ScheduleOptions['action']): ScheduleOptions['action'] {
  const kept = Object.fromEntries(Object.entries(previousInput).filter(([field]) => !CLI_FIELDS.includes(field)));
  return { ...action, args: [{ ...kept, ...(action.args?.[0] as Record<string, unknown>) }] } as ScheduleOptions['action'];
}

/** Changes only what `settings` names; the rest of the schedule stays as it is. */
export async function updateSchedule(handle: ScheduleHandle, config: Config, target: ScheduleTarget, settings: ScheduleSettings): Promise<void> {
  await handle.update((previous) => {
    if (settings.timezone && !settings.cron && !settings.every && previous.spec.intervals?.length && !previous.spec.calendars?.length) {
      throw new InputError('--timezone applies to --cron only, and this schedule runs at fixed intervals (--every), whatever the time zone; leave --timezone out, or give the times with --cron');
    }
    const spec =
      settings.cron || settings.every
        ? { ...scheduleSpec({ cron: settings.cron, every: settings.every, timezone: settings.timezone ?? previous.spec.timezone }), jitter: settings.jitter ?? previous.spec.jitter }
        : { ...previous.spec, ...(settings.timezone ? { timezone: settings.timezone } : {}), ...(settings.jitter ? { jitter: settings.jitter } : {}) };
    const actionChanged = settings.retention !== undefined || settings.compression !== undefined || settings.compressLevel !== undefined || settings.verify !== undefined;
    const previousInput = (previous.action.args?.[0] ?? {}) as Record<string, unknown>;
    // Rebuilding the input from the first would drop the others' fields (an exclude, say) unseen.
    if (actionChanged && hasExtraInputs(previous.action.args ?? [])) {
      throw new InputError(`${scheduleId(config, target)} starts its runs with ${previous.action.args!.length} inputs, and each run is refused for it; put their fields into the first in the Temporal UI, under Schedules, then update it`);
    }
    const action = actionChanged
      ? keepOtherFields(previousInput, scheduleAction(config, target, {
          // A new compression replaces the older compressLevel form, never sits beside it.
          ...(settings.compression !== undefined || settings.compressLevel !== undefined
            ? { compression: settings.compression, compressLevel: settings.compressLevel }
            : { compression: previousInput.compression as string | undefined, compressLevel: previousInput.compressLevel as number | undefined }),
          retention: settings.retention ?? (previousInput.retention as RetentionPolicy | undefined),
          verify: settings.verify ?? (previousInput.verify as ScheduleSettings['verify']),
        }))
      : previous.action;
    const state = settings.note ? { ...previous.state, note: settings.note } : previous.state;
    return { ...previous, spec, action, state } as typeof previous;
  });
}

/**
 * The target a pgkeeper schedule id names on `queue`, or undefined when the id is not one of this
 * queue's. A queue name may itself hold ':' ("prod" and "prod:eu"): the id of "prod:eu"'s schedule
 * for "app" also starts with "prod"'s prefix, so the database the schedule's memo names decides.
 */
export function scheduleTargetOf(id: string, queue: string, memo?: Record<string, unknown>): ScheduleTarget | undefined {
  if (id === `pgkeeper-cluster:${queue}`) return { all: true };
  const memoDatabase = (memo?.pgkeeper as { database?: unknown } | undefined)?.database;
  if (id === `pgkeeper-verify:${queue}`) return memoDatabase === undefined ? { verify: true } : undefined;
  if (id.startsWith(`pgkeeper-verify:${queue}:`)) {
    const database = id.slice(`pgkeeper-verify:${queue}:`.length);
    // Always made with its memo: "prod:eu"'s schedule of every backup is not "prod"'s of database "eu".
    return memoDatabase === database ? { verify: true, database } : undefined;
  }
  for (const [prefix, drill] of [[`pgkeeper-backup:${queue}:`, false], [`pgkeeper-drill:${queue}:`, true]] as const) {
    if (!id.startsWith(prefix)) continue;
    const database = id.slice(prefix.length);
    return typeof memoDatabase === 'string' && memoDatabase !== database ? undefined : { database, drill };
  }
  return undefined;
}

export function scheduleHandle(client: Client, config: Config, target: ScheduleTarget): ScheduleHandle {
  return client.schedule.getHandle(scheduleId(config, target));
}

/** One string per target, to tell two apart. */
function targetKey(target: ScheduleTarget): string {
  if ('all' in target) return 'all';
  if ('verify' in target) return `verify:${target.database ?? ''}`;
  return `${target.drill ? 'drill' : 'backup'}:${target.database}`;
}

/**
 * The handle of `target`'s schedule on this queue, once its memo says it is that one: queue names
 * may hold ':', so "prod:eu"'s schedule of every backup has the id of "prod"'s for database "eu".
 * One that is another queue's is not found here, and is left alone.
 */
export async function ownScheduleHandle(client: Client, config: Config, target: ScheduleTarget): Promise<ScheduleHandle> {
  const handle = scheduleHandle(client, config, target);
  const { memo } = await handle.describe();
  const found = scheduleTargetOf(handle.scheduleId, config.temporal.taskQueue, memo);
  if (!found || targetKey(found) !== targetKey(target)) throw new ScheduleNotFoundError(`schedule ${handle.scheduleId} is another task queue's`, handle.scheduleId);
  return handle;
}

/** How long a trigger is watched for the schedule to take it or skip it (the scheduler takes it within a second or so). */
const TRIGGER_WATCH_MS = 10_000;

/** What became of a trigger: the run it started, the run still going that made it skip, or not known yet. */
export type TriggerOutcome = { started: string } | { skippedFor: string } | { pending: true };

export async function triggerNow(handle: ScheduleHandle): Promise<TriggerOutcome> {
  const before = (await handle.describe()).info;
  // The API's default is ALLOW_ALL; a backup still running must make this one skip instead.
  await handle.trigger(ScheduleOverlapPolicy.SKIP);
  // The trigger is taken by the scheduler later, and skipped silently: watched, so "triggered" is never said of a run that did not start.
  const deadline = Date.now() + TRIGGER_WATCH_MS;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const info = (await handle.describe()).info;
    if (info.numActionsSkippedOverlap > before.numActionsSkippedOverlap) {
      return { skippedFor: (info.runningActions[0] ?? before.runningActions[0])?.workflow.workflowId ?? 'a run' };
    }
    if (info.numActionsTaken > before.numActionsTaken) return { started: info.recentActions.at(-1)?.action.workflow.workflowId ?? 'a run' };
  }
  return { pending: true };
}

export async function backfill(handle: ScheduleHandle, start: Date, end: Date): Promise<void> {
  await handle.backfill({ start, end, overlap: ScheduleOverlapPolicy.SKIP });
}
