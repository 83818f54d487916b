/**
 * Per-database status: last run, last good backup, damaged backups, last proven restore, next
 * scheduled run, and whether the newest good backup is older than its schedule promises. The
 * globals backups (roles, tablespaces; from `backup --all`) get the same, less proven restores.
 * The worker says what the stores hold; Temporal says what ran and what is planned.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { clusterPatterns, clusterSelection, selectDatabases } from '../common/cluster-input.js';
import type { Config } from '../common/config.js';
import { InputError } from '../common/errors.js';
import { isDatabaseName } from '../common/names.js';
import { ALL_DATABASES } from '../common/search-attributes.js';
import type { BackupListing, ListedBackup } from '../common/types.js';
import { askServerDatabases } from './scheduled-database.js';
import { scheduleHandle, type ScheduleTarget } from './schedules.js';
import { listRuns } from './visibility.js';

interface Health {
  lastRun: { at: string; outcome: string; workflowId: string } | null;
  lastSuccessfulBackup: { at: string; backupId: string } | null;
  /** Every damaged copy, in any store: a backup lost, or one of its copies (3-2-1 no longer holds). */
  damaged: { backupId: string; reason: string }[];
  schedule: { id: string; nextRun: string | null; intervalMs: number | null; paused: boolean } | null;
  /** The newest good backup is older than the schedule's interval allows (1.5 intervals), or there is none. */
  stale: boolean | null;
}

export interface DatabaseStatus extends Health {
  kind: 'database';
  database: string;
  lastProvenRestore: { at: string; backupId: string } | null;
}

/** The globals backups: `backup --all` writes them, its schedule (if any) promises them. */
export interface GlobalsStatus extends Health {
  kind: 'globals';
  database: null;
}

/** A schedule promises a backup every interval; half an interval more covers the run itself and jitter. */
const STALE_AFTER_INTERVALS = 1.5;

/** A schedule as status needs it: its state, and the input it starts runs with (the --all one's include and exclude). */
export interface DescribedSchedule {
  schedule: NonNullable<Health['schedule']>;
  input: unknown;
}

/** Schedules by target, each described at most once per status (the --all schedule is every database's fallback). */
export type ScheduleLookup = (target: ScheduleTarget) => Promise<DescribedSchedule | null>;

export function scheduleLookup(client: Client, config: Config): ScheduleLookup {
  const described = new Map<string, Promise<DescribedSchedule | null>>();
  return (target) => {
    const key = JSON.stringify(target);
    let found = described.get(key);
    if (!found) {
      found = scheduleHandle(client, config, target)
        .describe()
        .then(
          (d) => {
            const [next, after] = d.info.nextActionTimes;
            const input = d.action.type === 'startWorkflow' ? d.action.args?.[0] : undefined;
            return { schedule: { id: d.scheduleId, nextRun: next?.toISOString() ?? null, intervalMs: next && after ? after.getTime() - next.getTime() : null, paused: d.state.paused }, input };
          },
          (err: unknown) => {
            if (err instanceof ScheduleNotFoundError) return null;
            throw err;
          },
        );
      described.set(key, found);
    }
    return found;
  };
}

/**
 * The schedule that runs next of those found (a database's own, or the --all one, whichever is
 * sooner: both back it up); a paused one only when none is active.
 */
function soonest(found: (DescribedSchedule | null)[]): Health['schedule'] {
  const rank = (s: NonNullable<Health['schedule']>) => (s.paused || !s.nextRun ? Infinity : Date.parse(s.nextRun));
  return found.flatMap((d) => (d ? [d.schedule] : [])).sort((a, b) => rank(a) - rank(b))[0] ?? null;
}

/** Whether the --all schedule's runs back up `database`: its patterns leave it in (not valid ones: assumed so, its runs fail loudly). */
function covers(all: DescribedSchedule, database: string): boolean {
  try {
    const { include, exclude } = clusterPatterns(all.input);
    return selectDatabases([database], include, exclude).length > 0;
  } catch (err) {
    if (err instanceof InputError) return true;
    throw err;
  }
}

type Listed = Pick<ListedBackup, 'id' | 'createdAt' | 'finishedAt' | 'status' | 'locations'>;

/** What the stores' copies (newest first) and the last run say, against what the schedule promises. */
function health(backups: Listed[], runs: Awaited<ReturnType<typeof listRuns>>, schedule: Health['schedule'], nowMs: number): Health {
  const newestGood = backups.find((b) => b.status === 'complete');
  const damaged = backups.flatMap((b) => b.locations.filter((l) => l.status === 'damaged').map((l) => ({ backupId: b.id, reason: `${l.reason} in ${l.store}` })));
  const ageMs = newestGood ? nowMs - Date.parse(newestGood.finishedAt ?? newestGood.createdAt) : Infinity;
  return {
    lastRun: runs[0] ? { at: runs[0].startTime.toISOString(), outcome: runs[0].outcome, workflowId: runs[0].workflowId } : null,
    lastSuccessfulBackup: newestGood ? { at: newestGood.finishedAt ?? newestGood.createdAt, backupId: newestGood.id } : null,
    damaged,
    schedule,
    stale: schedule?.intervalMs ? ageMs > STALE_AFTER_INTERVALS * schedule.intervalMs : null,
  };
}

export async function databaseStatus(client: Client, config: Config, listing: BackupListing, database: string, nowMs = Date.now(), schedules = scheduleLookup(client, config)): Promise<DatabaseStatus> {
  const [runs, own, all] = await Promise.all([listRuns(client, config, { database, operations: ['backup'] }, 1), schedules({ database }), schedules({ all: true })]);
  const schedule = soonest([own, all && covers(all, database) ? all : null]);
  const backups = listing.backups.filter((b) => b.database === database);
  const proven = backups.filter((b) => b.lastProvenAt !== null).sort((a, b) => (a.lastProvenAt! < b.lastProvenAt! ? 1 : -1))[0];
  return {
    kind: 'database',
    database,
    ...health(backups, runs, schedule, nowMs),
    lastProvenRestore: proven ? { at: proven.lastProvenAt!, backupId: proven.id } : null,
  };
}

/** Null when the stores hold no globals backup and no --all schedule promises one. */
export async function globalsStatus(client: Client, config: Config, listing: BackupListing, nowMs = Date.now(), schedules = scheduleLookup(client, config)): Promise<GlobalsStatus | null> {
  const globals = listing.globals ?? []; // a worker older than the CLI lists none
  const schedule = soonest([await schedules({ all: true })]);
  if (globals.length === 0 && !schedule) return null;
  const runs = await listRuns(client, config, { database: ALL_DATABASES, operations: ['cluster'] }, 1);
  return { kind: 'globals', database: null, ...health(globals, runs, schedule, nowMs) };
}

/**
 * The databases the --all schedule backs up, as its runs would choose them today: asked of the
 * worker, so that one no run has ever backed up (created since, or failing every night) shows
 * (NEVER BACKED UP) instead of being missed. No --all schedule: none. What cannot be listed (the
 * worker's PostgreSQL down, say) is a note, not a failure of status; so are names no run can back
 * up (a control character in them), which are not printed as they are.
 */
export async function allScheduleDatabases(client: Client, config: Config, schedules: ScheduleLookup): Promise<{ databases: string[]; note?: string }> {
  const all = await schedules({ all: true });
  if (!all) return { databases: [] };
  const unlisted = (why: string) => ({ databases: [], note: `the databases the --all schedule backs up were not listed (${why}): one it has never backed up is not shown` });
  let patterns;
  try {
    patterns = clusterPatterns(all.input);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return unlisted(`its input is not valid: ${err.message}; fix it in the Temporal UI, under Schedules, ${all.schedule.id}`);
  }
  const asked = await askServerDatabases(client, config);
  if ('unanswered' in asked) return unlisted(asked.unanswered);
  const selected = clusterSelection(asked.found, patterns.include, patterns.exclude).selected;
  const unnameable = selected.filter((db) => !isDatabaseName(db));
  return {
    databases: selected.filter(isDatabaseName),
    ...(unnameable.length && { note: `${unnameable.length} database(s) on ${asked.found.server} that the --all schedule would back up have names pgkeeper cannot back up (${unnameable.map((db) => JSON.stringify(db)).join(', ')}); rename them, or exclude them from the schedule's input` }),
  };
}
