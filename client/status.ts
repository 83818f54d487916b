/**
 * Per-database status: last run, last good backup, damaged backups, last proven restore, next
 * scheduled run, and whether the newest good backup is older than its schedule promises. The
 * globals backups (roles, tablespaces; from `backup --all`) get the same, less proven restores.
 * The worker says what the stores hold; Temporal says what ran and what is planned.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { clusterSelection, normalizeClusterInput, selectDatabases, type NormalizedClusterInput } from '../common/cluster-input.js';
import type { Config } from '../common/config.js';
import { InputError } from '../common/errors.js';
import { hasExtraInputs } from '../common/input-fields.js';
import { isDatabaseName, listedNames } from '../common/names.js';
import { isDatedInFuture } from '../common/retention-plan.js';
import { ALL_DATABASES } from '../common/search-attributes.js';
import type { BackupListing, ListedBackup, StoreUnreachable } from '../common/types.js';
import { askServerDatabases } from './scheduled-database.js';
import { scheduleHandle, type ScheduleTarget } from './schedules.js';
import { listRuns, type RunRecord } from './visibility.js';

/** A run as status shows it: when it started, how it ended, which workflow. */
type RunSummary = { at: string; outcome: string; workflowId: string };

function runSummary(run: RunRecord | undefined): RunSummary | null {
  return run ? { at: run.startTime.toISOString(), outcome: run.outcome, workflowId: run.workflowId } : null;
}

interface Health {
  lastRun: RunSummary | null;
  lastSuccessfulBackup: { at: string; backupId: string } | null;
  /** Every damaged copy, in any store: a backup lost, or one of its copies (3-2-1 no longer holds). */
  damaged: { backupId: string; reason: string; newer?: true }[];
  /**
   * Stores that answered and hold no copy of the newest good backup (removed by hand, a store
   * added since): 3-2-1 does not hold for it either. Not said while a run (which copies) is going on.
   */
  missingIn: string[];
  schedule: { id: string; nextRun: string | null; intervalMs: number | null; paused: boolean } | null;
  /** The newest good backup is older than the schedule's interval allows (1.5 intervals), or there is none. */
  stale: boolean | null;
  /** Stores that did not answer: their copies are not counted above (so `--json` says why it exited 3). */
  unreachable: StoreUnreachable[];
  /**
   * The backup the last completed backup run made, when every store answered and none holds it nor
   * a newer one: removed by hand, or a store is not the disk or prefix it was (a disk not mounted).
   */
  gone: { backupId: string; at: string; workflowId: string } | null;
}

export interface DatabaseStatus extends Health {
  kind: 'database';
  database: string;
  /** `deleted`: the proven backup is no longer held (retention deleted it, its proof with it). */
  lastProvenRestore: { at: string; backupId: string; deleted?: true } | null;
  /** The last restore drill, whatever its outcome: a weekly drill that fails every week needs attention. */
  lastDrill: RunSummary | null;
}

/** The globals backups: `backup --all` writes them, its schedule (if any) promises them. */
export interface GlobalsStatus extends Health {
  kind: 'globals';
  database: null;
}

/** A schedule promises a backup every interval; half an interval more covers the run itself and jitter. */
const STALE_AFTER_INTERVALS = 1.5;

/** A schedule as status needs it: its state, and the inputs it starts runs with (the --all one's decide which databases it backs up). */
export interface DescribedSchedule {
  schedule: NonNullable<Health['schedule']>;
  inputs: readonly unknown[];
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
            const inputs = d.action.type === 'startWorkflow' ? (d.action.args ?? []) : [];
            return { schedule: { id: d.scheduleId, nextRun: next?.toISOString() ?? null, intervalMs: next && after ? after.getTime() - next.getTime() : null, paused: d.state.paused }, inputs };
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

type Listed = Pick<ListedBackup, 'id' | 'createdAt' | 'finishedAt' | 'status' | 'locations'>;

/** What the stores' copies (newest first) and the last run say, against what the schedule promises. */
function health(listing: BackupListing, backups: Listed[], runs: Awaited<ReturnType<typeof listRuns>>, schedule: Health['schedule'], nowMs: number): Health {
  // One dated in the future (a clock that ran ahead) would never look stale and hide a gone backup: last resort only.
  const inFuture = (b: Listed) => isDatedInFuture(Date.parse(b.createdAt), nowMs);
  const complete = backups.filter((b) => b.status === 'complete');
  const newestGood = complete.find((b) => !inFuture(b)) ?? complete[0];
  const damaged = backups.flatMap((b) => b.locations.filter((l) => l.status === 'damaged').map((l) => ({ backupId: b.id, reason: `${l.reason} in ${l.store}`, ...(l.newer ? { newer: l.newer } : {}) })));
  const ageMs = newestGood ? nowMs - Date.parse(newestGood.finishedAt ?? newestGood.createdAt) : Infinity;
  return {
    lastRun: runSummary(runs[0]),
    lastSuccessfulBackup: newestGood ? { at: newestGood.finishedAt ?? newestGood.createdAt, backupId: newestGood.id } : null,
    damaged,
    missingIn:
      newestGood && runs[0]?.outcome !== 'running'
        ? listing.stores.filter((store) => !listing.unreachable.some((u) => u.store === store) && !newestGood.locations.some((l) => l.store === store))
        : [],
    schedule,
    stale: schedule?.intervalMs ? ageMs > STALE_AFTER_INTERVALS * schedule.intervalMs : null,
    unreachable: listing.unreachable,
    gone: listing.unreachable.length === 0 ? goneBackup(runs, backups, inFuture) : null,
  };
}

export async function databaseStatus(
  client: Client,
  config: Config,
  listing: BackupListing,
  database: string,
  nowMs = Date.now(),
  schedules = scheduleLookup(client, config),
  coverage: Promise<AllCoverage> = allScheduleCoverage(client, config, schedules, { ask: false }),
): Promise<DatabaseStatus> {
  const [runs, drills, own, all, covered] = await Promise.all([
    // Enough to find the last completed one behind a few failed.
    listRuns(client, config, { database, operations: ['backup'] }, RUNS_FOR_GONE),
    listRuns(client, config, { database, operations: ['drill'] }, RUNS_FOR_GONE),
    schedules({ database }),
    schedules({ all: true }),
    coverage,
  ]);
  const schedule = soonest([own, covered.covers(database) ? all : null]);
  const backups = listing.backups.filter((b) => b.database === database);
  return {
    kind: 'database',
    database,
    ...health(listing, backups, runs, schedule, nowMs),
    lastProvenRestore: lastProven(backups, drills, listing.unreachable.length === 0),
    lastDrill: runSummary(drills[0]),
  };
}

/** Backup runs read by status: the last one, and the last completed one among them. */
/** Backup runs read by status (the last completed one may be behind a few failed), and drill runs likewise. */
const RUNS_FOR_GONE = 10;

/**
 * The newest proof that a backup restores: a proof stored beside a backup held, or the last
 * drill run that completed, whose backup retention may have deleted since (with its proof).
 */
function lastProven(backups: ListedBackup[], drills: RunRecord[], everyStoreAnswered: boolean): DatabaseStatus['lastProvenRestore'] {
  // A backup proven once and found DAMAGED everywhere since restores no more: its proof proves nothing now.
  const proven = backups.filter((b) => b.lastProvenAt !== null && b.status === 'complete').sort((a, b) => (a.lastProvenAt! < b.lastProvenAt! ? 1 : -1))[0];
  const fromProof = proven ? { at: proven.lastProvenAt!, backupId: proven.id } : null;
  const drilled = drills.find((r) => r.outcome === 'completed' && r.backupId !== undefined);
  const held = backups.find((b) => b.id === drilled?.backupId);
  // The proof beside a backup held is its record; the run speaks for a backup gone, or one whose
  // proof could not be written; not for one DAMAGED everywhere since.
  if (!drilled || held?.lastProvenAt || (held && held.status !== 'complete')) return fromProof;
  const at = (drilled.closeTime ?? drilled.startTime).toISOString();
  if (fromProof && fromProof.at >= at) return fromProof;
  // Not listed: deleted, unless a store that did not answer holds it.
  return { at, backupId: drilled.backupId!, ...(held || !everyStoreAnswered ? {} : { deleted: true as const }) };
}

/**
 * The last completed backup run's backup, when the stores hold neither it nor a newer one. Retention
 * always keeps the newest backup, so nothing pgkeeper does removes it.
 */
function goneBackup(runs: RunRecord[], backups: Listed[], inFuture: (b: Listed) => boolean): Health['gone'] {
  const made = runs.find((r) => r.outcome === 'completed' && r.backupId !== undefined);
  if (!made || backups.some((b) => b.id === made.backupId || (!inFuture(b) && Date.parse(b.createdAt) >= made.startTime.getTime()))) return null;
  return { backupId: made.backupId!, at: (made.closeTime ?? made.startTime).toISOString(), workflowId: made.workflowId };
}

/** Null when the stores hold no globals backup, no --all schedule promises one and none a run made is gone. */
export async function globalsStatus(client: Client, config: Config, listing: BackupListing, nowMs = Date.now(), schedules = scheduleLookup(client, config)): Promise<GlobalsStatus | null> {
  // A worker older than the CLI lists none: then nothing is known of them, not that they are gone.
  if (listing.globals === undefined) return null;
  const globals = listing.globals;
  const [all, runs] = await Promise.all([schedules({ all: true }), listRuns(client, config, { database: ALL_DATABASES, operations: ['cluster'] }, RUNS_FOR_GONE)]);
  const status: GlobalsStatus = { kind: 'globals', database: null, ...health(listing, globals, runs, soonest([all]), nowMs) };
  return globals.length === 0 && !status.schedule && !status.gone ? null : status;
}

/** What the --all schedule backs up, as far as status can tell. */
export interface AllCoverage {
  /** The databases its runs would back up today, as the worker listed them; empty when not asked. */
  databases: string[];
  /** Whether its runs back up `database` (which is then credited with its next run). */
  covers(database: string): boolean;
  /** A line for stderr; with `attention`, something a person must fix (exit 3). */
  note?: string;
  attention: boolean;
}

/** The --all schedule's input as backupCluster reads it, or why every run of it is refused. */
function inputOf(all: DescribedSchedule): NormalizedClusterInput | { refused: string } {
  if (hasExtraInputs(all.inputs)) return { refused: `it has ${all.inputs.length} inputs, and a run takes one` };
  try {
    return normalizeClusterInput(all.inputs[0]);
  } catch (err) {
    if (err instanceof InputError) return { refused: err.message };
    throw err;
  }
}

/**
 * What the --all schedule backs up. With `ask`, the databases its runs would choose today, asked
 * of the worker, so that one no run has ever backed up (created since, or failing every night)
 * shows (NEVER BACKED UP) instead of being missed. Without (or when the worker cannot say, its
 * PostgreSQL down, say), only its patterns decide what it is credited with. A schedule whose every
 * run is refused, or backs up nothing, or meets a name no run can back up (not printed as it is),
 * needs a person.
 */
export async function allScheduleCoverage(client: Client, config: Config, schedules: ScheduleLookup, { ask }: { ask: boolean }): Promise<AllCoverage> {
  const all = await schedules({ all: true });
  const none = (note?: string): AllCoverage => ({ databases: [], covers: () => false, attention: note !== undefined, ...(note && { note }) });
  if (!all) return none();
  const where = `fix its input in the Temporal UI, under Schedules, ${all.schedule.id}`;
  const input = inputOf(all);
  if ('refused' in input) return none(`every run of the --all schedule is refused (${input.refused}): no database is backed up by it; ${where}`);
  const { include, exclude } = input;
  const byPatterns: AllCoverage = { databases: [], covers: (db) => selectDatabases([db], include, exclude).length > 0, attention: false };
  if (!ask) return byPatterns;
  const asked = await askServerDatabases(client, config);
  if ('unanswered' in asked) return { ...byPatterns, note: `the databases the --all schedule backs up were not listed (${asked.unanswered}): one it has never backed up is not shown` };
  const selected = clusterSelection(asked.found, include, exclude).selected;
  if (selected.length === 0) return none(`the --all schedule's include and exclude leave none of the databases on ${asked.found.server}: every run fails; ${where}`);
  const unnameable = selected.filter((db) => !isDatabaseName(db));
  return {
    databases: selected.filter(isDatabaseName),
    covers: (db) => selected.includes(db),
    attention: unnameable.length > 0,
    ...(unnameable.length && {
      note: `${unnameable.length} database(s) on ${asked.found.server} that the --all schedule backs up have names pgkeeper cannot back up (${listedNames(unnameable)}): every run fails on them; rename them, or exclude them from the schedule's input`,
    }),
  };
}
