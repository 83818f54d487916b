/** `pgkeeper schedule ...`: create, list, describe, update, pause, unpause, trigger, backfill, delete. */
import { Command } from 'commander';
import type { Client, ScheduleHandle } from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { parseRetentionSpec, validateVerify } from '../../common/backup-input.js';
import type { Config } from '../../common/config.js';
import { InputError } from '../../common/errors.js';
import { validateDatabaseName } from '../../common/names.js';
import { checkInput, CliError } from '../cli-error.js';
import { cliSurface } from '../cli-surface.js';
import { printJson, showLines, table } from '../format.js';
import { durationText, timingText } from '../schedule-timing.js';
import { namespaceMissingMessage } from '../namespace-missing.js';
import { parseCompression } from '../../common/filters.js';
import type { ScheduleSettings, ScheduleTarget } from '../schedules.js';

/** The schedule client functions, loaded when a subcommand runs (the Temporal client is slow to load). */
let lib: typeof import('../schedules.js');

interface TargetOptions {
  all?: boolean;
  drill?: boolean;
  verifyStores?: boolean;
}

interface SettingOptions {
  cron?: string;
  every?: string;
  timezone?: string;
  jitter?: string;
  retention?: string;
  compression?: string;
  compressLevel?: number;
  verify?: string;
  note?: string;
}

export interface ScheduleCommandContext {
  config: () => Config;
  connect: (config: Config) => Promise<Client>;
  integer: (min: number, max: number) => (value: string) => number;
}

function target(database: string | undefined, options: TargetOptions): ScheduleTarget {
  if (options.all && database) throw new CliError('give a database or --all, not both');
  // Said before Temporal is asked anything, as for every other command.
  if (database !== undefined) checkInput(() => validateDatabaseName(database));
  if (options.drill && options.verifyStores) throw new CliError('give --drill (restore drills) or --verify-stores (reading the stores back), not both');
  if (options.verifyStores) {
    if (!database && !options.all) throw new CliError('--verify-stores: give the database whose backups to read back, or --all for every backup in every store');
    return database ? { verify: true, database } : { verify: true };
  }
  if (options.all && options.drill) throw new CliError('--drill schedules restore drills of one database; give the database');
  if (options.all) return { all: true };
  if (!database) throw new CliError('give the database to schedule, or --all for every database on the server');
  return { database, drill: options.drill === true };
}

/**
 * The shortest --every: a backup or drill takes seconds at least, and runs more often would only
 * queue behind each other (Temporal refuses nothing above zero).
 */
const MIN_INTERVAL_MS = 60_000;

/** The interval in ms; Infinity for one the SDK cannot read, which it then refuses in words settingRefused maps to the flag. */
function intervalMs(every: string): number {
  try {
    return msToNumber(every as `${number}s`);
  } catch {
    return Infinity;
  }
}

/** Temporal's shorthands that name a calendar; its `@every` is --every's, which checks the interval. */
const CRON_SHORTHANDS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/**
 * --cron in the five fields of cron (Temporal also reads a seconds field and a year field, and
 * `@every`: each would let runs start every few seconds, past --every's minute).
 */
function checkCronFields(cron: string): void {
  const fields = cron.replace(/#.*$/, '').trim().split(/\s+/).filter((f) => !/^(CRON_)?TZ=/.test(f));
  if (fields[0] === '@every') throw new InputError(`--cron ${JSON.stringify(cron)}: give a fixed interval with --every instead (e.g. --every 6h)`);
  // An empty one is said in Temporal's words, which settingRefused maps to the flag.
  if (fields[0] === '' || (fields.length === 1 && CRON_SHORTHANDS.includes(fields[0]!))) return;
  if (fields.length !== 5) {
    throw new InputError(
      `--cron ${JSON.stringify(cron)} has ${fields.length} field${fields.length === 1 ? '' : 's'}; give the five of cron: minute hour day-of-month month day-of-week (e.g. "0 2 * * *"), with no seconds or years`,
    );
  }
}

/** A setting given where it means nothing (or cannot mean what it says) is a mistake to say, not to ignore. */
function checkMeaningful(options: SettingOptions, t: ScheduleTarget): void {
  if (options.every !== undefined && intervalMs(options.every) < MIN_INTERVAL_MS) {
    throw new InputError(`--every ${options.every} is shorter than a minute: each run would start before the last one ended; give 1m or more (e.g. 6h), or times with --cron`);
  }
  if (options.cron !== undefined) checkCronFields(options.cron);
  if (options.jitter !== undefined && intervalMs(options.jitter) < 0) {
    throw new InputError(`--jitter ${options.jitter} is negative: it is how much later, at most, a run may start at random; give e.g. 10m, or 0 for none`);
  }
  if ('verify' in t || (!('all' in t) && t.drill)) {
    const backupOnly = (['retention', 'compression', 'compressLevel', 'verify'] as const).filter((flag) => options[flag] !== undefined);
    const kind = 'verify' in t ? 'a --verify-stores schedule reads backups back' : 'a drill schedule restores backups';
    if (backupOnly.length) throw new InputError(`${backupOnly.map((flag) => (flag === 'compressLevel' ? '--compress-level' : `--${flag}`)).join(', ')}: ${kind} and makes none; set them on the backup schedule`);
  }
  if (options.timezone === undefined) return;
  if (options.timezone.trim() === '') throw new InputError('--timezone is empty: give an IANA time zone such as Europe/Amsterdam or UTC, or leave it out (UTC)');
  if (options.timezone !== options.timezone.trim()) throw new InputError(`--timezone ${JSON.stringify(options.timezone)} has white space around it; give the zone alone, such as Europe/Amsterdam`);
  // Temporal takes "Local" for its server host's own zone: one nobody chose, which changes with the host.
  if (options.timezone === 'Local') throw new InputError('--timezone Local is the Temporal server host\'s own zone, whatever that is; give an IANA time zone such as Europe/Amsterdam or UTC');
  if (options.every) throw new InputError(`--timezone applies to --cron only: --every ${options.every} runs at fixed intervals, whatever the time zone; leave --timezone out, or give the times with --cron`);
}

function settings(options: SettingOptions, t: ScheduleTarget): ScheduleSettings {
  checkInput(() => checkMeaningful(options, t));
  return checkInput(() => ({
    cron: options.cron,
    every: options.every,
    timezone: options.timezone,
    jitter: options.jitter,
    retention: options.retention === undefined ? undefined : parseRetentionSpec(options.retention, cliSurface),
    compression: options.compression === undefined ? undefined : (parseCompression(options.compression, cliSurface), options.compression),
    compressLevel: options.compressLevel,
    verify: options.verify === undefined ? undefined : validateVerify(options.verify, cliSurface),
    note: options.note === undefined ? undefined : noteGiven(options.note),
  }));
}

/** A note the UI shows: an empty one would be no note (Temporal's pause ignores one). */
function noteGiven(note: string): string {
  if (note.trim() === '') throw new InputError('--note is empty; give the text the Temporal UI should show for the schedule, or leave --note out');
  return note;
}

/**
 * The SDK and the server refuse a bad --cron, --every, --jitter or --timezone in their own words
 * ("CronString does not have 5-7 fields", "Invalid duration string: '6x'"): said as one line
 * naming the flag. Anything else passes through unchanged.
 */
const REFUSED_SETTINGS: { words: RegExp; flags: (keyof SettingOptions)[]; form: string }[] = [
  // The server's cron parser names the field it refuses ("Minute has invalid Step").
  { words: /cron|fields|not in range|\b(second|minute|hour|day|month|year|step)s?\b/i, flags: ['cron'], form: 'a cron expression such as "0 2 * * *" (minute hour day-of-month month day-of-week)' },
  { words: /conflicting timezone/i, flags: ['cron', 'timezone'], form: 'the time zone with --timezone, not as CRON_TZ= in --cron' },
  { words: /time ?zone|location/i, flags: ['timezone'], form: 'an IANA time zone such as Europe/Amsterdam or UTC' },
  { words: /duration|interval/i, flags: ['every', 'jitter'], form: 'a duration such as 30m, 6h or 1d' },
];

function settingRefused(err: unknown, options: SettingOptions): unknown {
  if (err instanceof InputError) return new CliError(err.message); // pgkeeper's own words already name the flags
  const message = err instanceof Error ? err.message : String(err);
  const refused = REFUSED_SETTINGS.find((r) => r.words.test(message) && r.flags.some((flag) => options[flag] !== undefined));
  const flags = (refused?.flags ?? []).filter((flag) => options[flag] !== undefined).map((flag) => `--${flag} "${String(options[flag])}"`);
  if (!refused || flags.length === 0) return err;
  return new CliError(`${flags.join(' or ')}: ${message.replace(/^TypeError: /, '')}; give ${refused.form}`);
}

function withSettingOptions(command: Command, integer: ScheduleCommandContext['integer']): Command {
  return command
    .option('--cron <expression>', 'cron expression, in --timezone (default "0 2 * * *": nightly at 02:00)')
    .option('--every <interval>', 'fixed interval instead of cron, e.g. 6h or 30m')
    .option('--timezone <zone>', 'IANA time zone for --cron, e.g. Europe/Amsterdam (default UTC)')
    .option('--jitter <duration>', 'start up to this much later at random, e.g. 10m (spreads load across servers)')
    .option('--retention <rules>', 'e.g. keepDaily=7,keepWeekly=4,keepMonthly=12 or maxAgeDays=30 (default RETENTION_DAYS)')
    .option('--compression <kind:level>', 'zstd:N, N 1-19 (default zstd:1), gzip:N, N 0-9 (pg_dump\'s own) or none')
    .option('-z, --compress-level <0-9>', 'older form of --compression gzip:N', integer(0, 9))
    .option('--verify <full|toc>', 'full (default): read every block back while dumping; toc: table of contents only');
}

/** The schedule's run input as JSON; more than one is said, since each run is then refused. */
function inputText(inputs: readonly unknown[]): string {
  if (inputs.length === 0) return '(none)';
  const json = inputs.map((input) => JSON.stringify(input) ?? 'undefined').join(' ');
  return inputs.length === 1 ? json : `${json} (${inputs.length} inputs: each run is refused; put their fields into the first in the Temporal UI)`;
}

/** What to say of a schedule no time matches. */
function neverRuns(options: SettingOptions): string {
  return `the schedule would never run: ${options.cron ? `--cron ${JSON.stringify(options.cron)} matches no date that exists` : 'no time matches its timing'}`;
}

export function scheduleCommand(ctx: ScheduleCommandContext): Command {
  const schedule = new Command('schedule')
    .description('nightly backups with Temporal Schedules (visible and editable in the Temporal UI under Schedules)')
    // Made apart from the program, so it does not inherit its word after a mistyped command.
    .showHelpAfterError('(pgkeeper schedule --help lists its commands; pgkeeper schedule <command> --help their options)');
  const run = (action: (client: Client, config: Config) => Promise<void>) => async () => {
    const config = ctx.config();
    lib = await import('../schedules.js');
    try {
      await action(await ctx.connect(config), config);
    } catch (err) {
      if (lib.isScheduleNotFound(err)) {
        throw new CliError(`schedule ${err.scheduleId} does not exist on task queue "${config.temporal.taskQueue}"; \`pgkeeper schedule list\` shows the schedules, \`pgkeeper schedule create\` makes one`);
      }
      throw err;
    }
  };

  withSettingOptions(
    schedule
      .command('create')
      .description('create a backup schedule for a database, or --all')
      .argument('[database]')
      .option('--all', 'one schedule for every database, plus globals')
      .option('--drill', 'schedule restore drills instead of backups (default weekly, Sunday 05:00)')
      .option('--verify-stores', 'schedule `pgkeeper verify` instead: every archive of the database (or with --all, every one) read back in every store (default weekly, Saturday 05:00)')
      .option('--note <text>', 'shown in the UI'),
    ctx.integer,
  ).action(async (database: string | undefined, options: SettingOptions & TargetOptions) => {
    const t = target(database, options);
    const s = settings(options, t);
    await run(async (client, config) => {
      // Said at once, before the worker is asked anything (which may wait 15 s for one that stopped).
      const exists = () => new CliError(`schedule ${lib.scheduleId(config, t)} already exists; change it with \`pgkeeper schedule update\``);
      if (await lib.scheduleHandle(client, config, t).describe().then(() => true, () => false)) throw exists();
      // Asked before anything is made: a schedule of a database that is not there must never fire, not even once.
      // A verify or drill schedule reads backups, and a dropped database's are worth reading too: its
      // name is refused only when it is neither on the server nor in any store.
      const backedUp = lib.backedUpDatabase(t);
      const read = 'verify' in t ? t.database : !('all' in t) && t.drill ? t.database : undefined;
      const checks = await import('../scheduled-database.js');
      const check =
        backedUp !== undefined
          ? await checks.checkScheduledDatabase(client, config, backedUp)
          : read !== undefined
            ? await checks.checkBackedUpDatabase(client, config, read, 'verify' in t ? 'verify' : 'drill')
            : undefined;
      if (check?.kind === 'missing') throw new CliError(`${check.message}; nothing was created`);
      const handle = await lib.createSchedule(client, config, t, s).catch((err: Error) => {
        if (/already (exists|registered)/i.test(err.message)) throw exists(); // made meanwhile
        const refused = settingRefused(err, options);
        // A missing namespace is main()'s to say (exit 2); anything else in the SDK's words.
        throw refused instanceof CliError || namespaceMissingMessage(err) ? refused : new CliError(err.message);
      });
      const next = (await handle.describe()).info.nextActionTimes[0];
      if (!next) {
        // A calendar no date matches (--cron '0 2 30 2 *'): a schedule that never runs looks like protection and is none.
        await handle.delete();
        throw new CliError(`${neverRuns(options)}; nothing was created`);
      }
      process.stdout.write(`created schedule ${handle.scheduleId}; next run ${next.toISOString()}\n`);
      if (check?.kind === 'unchecked') process.stderr.write(`note: ${check.note}\n`);
    })();
  });

  schedule
    .command('list')
    .description('pgkeeper schedules on this task queue')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) =>
      run(async (client, config) => {
        const found: { scheduleId: string; paused: boolean; nextRun: string | null }[] = [];
        for await (const s of client.schedule.list()) {
          if (!lib.scheduleTargetOf(s.scheduleId, config.temporal.taskQueue, s.memo)) continue; // another queue's, or not pgkeeper's
          found.push({ scheduleId: s.scheduleId, paused: s.state.paused, nextRun: s.info?.nextActionTimes?.[0]?.toISOString() ?? null });
        }
        if (options.json) return printJson(found);
        const rows = [['SCHEDULE', 'STATE', 'NEXT RUN (UTC)'], ...found.map((s) => [s.scheduleId, s.paused ? 'paused' : 'active', s.nextRun?.slice(0, 19) ?? '-'])];
        // Which queue: a schedule of another queue (--queue, TASK_QUEUE) is not listed here.
        process.stdout.write(found.length === 0 ? showLines([`no pgkeeper schedules on task queue "${config.temporal.taskQueue}"; \`pgkeeper schedule create <database>\` makes one`]) : table(rows) + '\n');
      })(),
    );

  const simple = (name: string, description: string, act: (handle: ScheduleHandle, options: Record<string, string>) => Promise<string>) =>
    schedule
      .command(name)
      .description(description)
      .argument('[database]')
      .option('--all', 'the schedule of every database')
      .option('--drill', 'the restore-drill schedule of the database')
      .option('--verify-stores', 'the verify schedule of the database (with --all, of every backup)')
      .action(async (database: string | undefined, options: TargetOptions & Record<string, string>) => {
        const t = target(database, options);
        await run(async (client, config) => {
          process.stdout.write((await act(await lib.ownScheduleHandle(client, config, t), options)) + '\n');
        })();
      });

  simple('describe', 'spec, state, next runs and recent runs', async (handle) => {
    const d = await handle.describe();
    return [
      `schedule   ${d.scheduleId} (${d.state.paused ? 'paused' : 'active'}${d.state.note ? `: ${d.state.note}` : ''})`,
      // A time zone applies to calendars only: an interval counts from the epoch.
      `timing     ${timingText(d.spec)}${d.spec.calendars?.length ? ` in ${d.spec.timezone || 'UTC'}` : ''}${d.spec.jitter ? `, jitter ${durationText(d.spec.jitter)}` : ''}`,
      `overlap    ${d.policies.overlap}, catch-up window ${d.policies.catchupWindow / 3_600_000} h`,
      `input      ${inputText(d.action.type === 'startWorkflow' ? (d.action.args ?? []) : [])}`,
      `runs       ${d.info.numActionsTaken} taken, ${d.info.numActionsSkippedOverlap} skipped (overlap), ${d.info.numActionsMissedCatchupWindow} missed`,
      `next       ${d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()).join(', ') || '-'}`,
      ...d.info.recentActions.slice(-5).map((a) => `recent     ${a.takenAt.toISOString()} ${a.action.workflow.workflowId}`),
    ].join('\n');
  });
  withSettingOptions(
    schedule.command('update').description('change timing, retention, compression or note').argument('[database]').option('--all').option('--drill').option('--verify-stores').option('--note <text>', 'shown in the UI'),
    ctx.integer,
  ).action(
    async (database: string | undefined, options: SettingOptions & TargetOptions) => {
      const t = target(database, options);
      const s = settings(options, t);
      // "updated" for a command that changed nothing would say a fix was made that was not.
      if (Object.values(s).every((v) => v === undefined)) throw new CliError('nothing to change: give what to change (--cron, --every, --timezone, --jitter, --retention, --compression, --verify or --note)');
      await run(async (client, config) => {
        const handle = await lib.ownScheduleHandle(client, config, t);
        await lib.updateSchedule(handle, config, t, s).catch((err: unknown) => {
          const refused = settingRefused(err, options);
          // As for create: a missing namespace or schedule is said by main() and run(); anything else in the SDK's words, one line.
          throw refused instanceof CliError || namespaceMissingMessage(err) || lib.isScheduleNotFound(err) ? refused : new CliError(err instanceof Error ? err.message.replace(/^TypeError: /, '') : String(err));
        });
        process.stdout.write(`updated schedule ${lib.scheduleId(config, t)}\n`);
        const d = await handle.describe();
        if (!d.state.paused && d.info.nextActionTimes.length === 0) throw new CliError(`${neverRuns(options)}: change it with \`pgkeeper schedule update\``);
      })();
    },
  );
  // Temporal's pause and unpause replace the schedule's note (what it is for: create or update
  // --note) with their own, and do nothing given an empty one: the note is given back as it was.
  const keptNote = async (handle: ScheduleHandle, fallback: string) => (await handle.describe()).state.note || fallback;
  simple('pause', 'stop starting runs (running ones go on)', async (handle) => (await handle.pause(await keptNote(handle, 'paused with pgkeeper schedule pause')), `paused ${handle.scheduleId}`));
  simple('unpause', 'start runs again', async (handle) => (await handle.unpause(await keptNote(handle, 'unpaused with pgkeeper schedule unpause')), `unpaused ${handle.scheduleId}`));
  simple('trigger', 'run now (skipped if a run is still going)', async (handle) => {
    const outcome = await lib.triggerNow(handle);
    if ('started' in outcome) return `triggered ${handle.scheduleId}: started ${outcome.started}`;
    if ('skippedFor' in outcome) return `not triggered: ${outcome.skippedFor} of ${handle.scheduleId} is still running, and a schedule runs one at a time (overlap SKIP); trigger again once it ends`;
    return `triggered ${handle.scheduleId}; Temporal has not started it yet (\`pgkeeper schedule describe\` shows its recent runs)`;
  });
  simple('delete', 'delete the schedule (backups stay)', async (handle) => (await handle.delete(), `deleted ${handle.scheduleId}`));
  schedule
    .command('backfill')
    .description('take the runs the schedule would have taken between two times (overlap SKIP)')
    .argument('[database]')
    .option('--all')
    .option('--drill')
    .option('--verify-stores')
    .requiredOption('--from <time>', 'ISO time, e.g. 2026-11-20T00:00:00Z')
    .requiredOption('--to <time>', 'ISO time')
    .action(async (database: string | undefined, options: TargetOptions & { from: string; to: string }) => {
      const t = target(database, options);
      const [from, to] = [new Date(options.from), new Date(options.to)];
      if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from >= to) throw new CliError('--from and --to must be ISO times with --from before --to');
      // Temporal takes a range in the future and runs it at once, as if those times were past.
      if (to.getTime() > Date.now()) throw new CliError(`--to ${to.toISOString()} is in the future: a backfill takes runs the schedule missed; the schedule itself takes those to come (\`pgkeeper schedule trigger\` runs one now)`);
      await run(async (client, config) => {
        const handle = await lib.ownScheduleHandle(client, config, t);
        await lib.backfill(handle, from, to);
        process.stdout.write(`backfilling ${handle.scheduleId} from ${from.toISOString()} to ${to.toISOString()}: the times due in it are taken now, each skipped while a run is going (overlap SKIP; Temporal takes them in batches, so a long range makes a few runs, not one per time), each working on the database as it is now, not as it was then\n`);
      })();
    });
  return schedule;
}
