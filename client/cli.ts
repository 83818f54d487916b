/**
 * The `pgkeeper` command line: a thin layer over the client functions in client/. It talks to
 * Temporal only (what the stores hold is asked of the worker), connects lazily so `--help` works
 * without a server, and loads no workflow or worker code unless `pgkeeper worker` runs.
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { parseRetentionSpec } from '../common/backup-input.js';
import { ConfigError, parseConfig, type Config } from '../common/config.js';
import { InputError } from '../common/errors.js';
import { validateDatabaseName } from '../common/names.js';
import { checkInput, CliError } from './cli-error.js';
import { cliSurface } from './cli-surface.js';
import { integer, names } from './option-parsers.js';
import { namespaceMissingMessage } from './namespace-missing.js';
import { dropServerNameWarning } from './quiet-warnings.js';
import { cliLookalikeVariables } from '../worker/lookalike-variables.js';
import { PGKEEPER_VERSION } from './version.js';
import type { BackupCommandOptions } from './commands/backup.js';
import type { ClusterCommandOptions } from './commands/backup-cluster.js';
import type { RestoreCommandOptions } from './commands/restore.js';
import { scheduleCommand } from './commands/schedule.js';
import type { Client } from '@temporalio/client';

/**
 * Commands load what they use when they run: the Temporal client (gRPC, protobufs) is most of the
 * CLI's start-up time, and `--help` or a mistyped flag needs none of it.
 */
const command = <M>(load: () => Promise<M>) => load;
const connectClient = async (config: Config): Promise<Client> => (await import('./temporal.js')).connectClient(config);
const commands = {
  backup: command(() => import('./commands/backup.js')),
  cluster: command(() => import('./commands/backup-cluster.js')),
  backups: command(() => import('./commands/backups.js')),
  drill: command(() => import('./commands/drill.js')),
  history: command(() => import('./commands/history.js')),
  prune: command(() => import('./commands/prune.js')),
  restore: command(() => import('./commands/restore.js')),
  setup: command(() => import('./commands/setup.js')),
  status: command(() => import('./commands/status.js')),
  verify: command(() => import('./commands/verify.js')),
};

let queueOption: string | undefined;

let lookalikesSaid = false;

/** The environment, with `--queue` standing in for TASK_QUEUE. */
function loadConfig(): Config {
  const env = { ...process.env, ...(queueOption ? { TASK_QUEUE: queueOption } : {}) };
  if (!lookalikesSaid) {
    lookalikesSaid = true;
    // TEMPORAL_ADRESS or task_queue would leave the CLI on the default Temporal or queue: perhaps another server's.
    for (const warning of cliLookalikeVariables(env)) process.stderr.write(`pgkeeper: warning: ${warning}\n`);
  }
  try {
    return parseConfig(env, (p) => path.resolve(p));
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}

const ENVIRONMENT_HELP = `
Environment (the CLI needs only Temporal; the worker owns PostgreSQL and the stores):
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE     Temporal server (default 127.0.0.1:7233, default)
  TEMPORAL_TLS, TEMPORAL_TLS_*             TLS, mutual TLS and API keys (README: "Production")
  TEMPORAL_API_KEY, TEMPORAL_API_KEY_FILE  API key (Temporal Cloud); implies TLS
  TASK_QUEUE                               the worker's task queue, one per PostgreSQL server (default pgkeeper; or --queue)
  TEMPORAL_UI_URL                          Web UI for links (default http://<temporal host>:8233)
  LOG_LEVEL                                trace, debug, info, warn, error (default info)
Worker: DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, BACKUP_DIR or BACKUP_STORE, BACKUP_COPIES,
  RETENTION_DAYS, ENCRYPT_RECIPIENTS, AGE_IDENTITY_FILE, SCRATCH_DIR (README: Configuration).`;

/** The queue a person starting the run from the UI must type: this shell's TASK_QUEUE (help is printed before --queue is read). */
const restoreHelp = () => `
Examples:
  pgkeeper restore latest --database app --target app_restored --wait
  pgkeeper restore app-20261124T020000Z-1a2b3c4d --target app --replace --confirm app --jobs 4 --wait

From the Temporal UI: Start Workflow, task queue ${process.env.TASK_QUEUE?.trim() ? `"${process.env.TASK_QUEUE.trim()}" (TASK_QUEUE)` : '"pgkeeper" (or the worker\'s TASK_QUEUE)'}, workflow type
"restoreDatabase", any workflow id (e.g. restore-app-1; the run hands the work to the
per-database id pgkeeper:<queue>:<target>), and one JSON object as input:
  {"backup": "latest", "database": "app", "target": "app_restored"}
  {"backup": "<backup id>", "target": "app", "mode": "replace", "confirm": "app", "jobs": 2}
Optional fields: "noOwner": true, "noPrivileges": true, "noTablespaces": true, "globals": "latest", "store": "<store URL>".`;

export function buildProgram(): Command {
  const program = new Command('pgkeeper')
    .description('PostgreSQL backup and restore as durable Temporal workflows')
    .version(PGKEEPER_VERSION, '-V, --version', 'the pgkeeper version')
    .hook('preAction', (command, action) => {
      queueOption = action.opts<{ queue?: string }>().queue ?? command.opts<{ queue?: string }>().queue;
      // An unset shell variable (--queue "$Q"): falling back to TASK_QUEUE or the default would act on another server.
      if (queueOption !== undefined && queueOption.trim() === '') {
        throw new CliError('--queue is empty (an unset shell variable?): give the task queue of the worker for the PostgreSQL server meant, or leave --queue out (TASK_QUEUE, else pgkeeper)', 2);
      }
    })
    // A mistyped command: the suggestion and one line on where to look, not the whole help.
    .showSuggestionAfterError(true)
    .showHelpAfterError('(pgkeeper --help lists the commands; pgkeeper <command> --help their options)')
    .addHelpText('after', ENVIRONMENT_HELP);

  program
    .command('backup')
    .description('back up one database, or --all of them plus roles: pg_dump streamed through zstd (and age) into the store, verified, copied, pruned')
    .argument('[database]', 'database to back up')
    .option('--all', 'every database on the server (template0 and template1 excluded) and the globals (roles, tablespaces)')
    .option('--include <names>', 'with --all: only these, comma-separated (or the option repeated), * allowed', names)
    .option('--exclude <names>', 'with --all: not these, comma-separated (or the option repeated), * allowed', names)
    .option('--concurrency <n>', 'with --all: databases at once (default 2)', integer(1, 16))
    .option('--compression <kind:level>', 'zstd:N, N 1-19 (default zstd:1, on the stream), gzip:N, N 0-9 (pg_dump\'s own: a plain pg_restore archive) or none')
    .addOption(new Option('-z, --compress-level <0-9>', 'older form of --compression gzip:N').argParser(integer(0, 9)).hideHelp())
    .option('--verify <full|toc>', 'full (default): read every block back while dumping; toc: table of contents only, faster')
    .option('-w, --wait', 'wait for the backup, showing progress, and print the result')
    .addHelpText('after', '\nExamples:\n  pgkeeper backup app --wait\n  pgkeeper backup app --compression gzip:6 --wait\n  pgkeeper backup --all --exclude scratch --wait')
    .action(async (database: string | undefined, options: BackupCommandOptions & ClusterCommandOptions & { all?: boolean }) => {
      const config = loadConfig();
      if (Boolean(options.all) === (database !== undefined)) throw new CliError('give one database to back up, or --all for every database on the server');
      const allOnly = (['include', 'exclude', 'concurrency'] as const).filter((o) => options[o] !== undefined);
      if (!options.all && allOnly.length > 0) throw new CliError(`${allOnly.map((o) => `--${o}`).join(', ')} ${allOnly.length > 1 ? 'go' : 'goes'} with --all (a backup of every database); for one database leave ${allOnly.length > 1 ? 'them' : 'it'} out`);
      if (options.all) await (await commands.cluster()).clusterCommand(() => connectClient(config), config, options);
      else await (await commands.backup()).backupCommand(() => connectClient(config), config, database!, options);
    });

  program
    .command('restore')
    .description('restore a backup into a staging database, validate it, then swap it in; the live database is never dropped')
    .argument('<backup>', 'a backup id (see `pgkeeper backups`), "latest" (with --database), or the key of an archive in a store')
    // Checked in the action, not by commander: it checks required options before unknown ones, so
    // `restore latest --jbos 8` would say "--target not specified" instead of "did you mean --jobs?".
    .option('-t, --target <database>', 'database to restore into (must not exist, unless --replace)')
    .option('-d, --database <database>', 'whose newest backup "latest" means')
    .option('--replace', 'replace an existing target; the previous database is kept as <target>_pre_restore_<time>')
    .option('--confirm <database>', 'with --replace: the target name again')
    .option('-j, --jobs <n>', 'parallel pg_restore jobs (default 2)', integer(1, 64))
    .option('--no-owner', 'do not restore ownership: objects (and the database) belong to DB_USER')
    .option('--no-privileges', 'do not restore GRANT/REVOKE (on objects and the database)')
    .option('--no-tablespaces', "put every table in the server's default tablespace (a server without the backup's tablespaces)")
    .option('--globals <id>', 'first create missing roles and tablespaces from a globals backup ("latest" or its id)')
    .option('--store <url>', 'read the backup from this store (default: the first that has it intact)')
    .option('-w, --wait', 'wait for the restore, showing progress, and print the result')
    .addHelpText('after', restoreHelp)
    .action(async (backup: string, options: RestoreCommandOptions, command: Command) => {
      if (options.target === undefined) command.error("error: required option '-t, --target <database>' not specified");
      const config = loadConfig();
      await (await commands.restore()).restoreCommand(() => connectClient(config), config, backup, options);
    });

  program
    .command('backups')
    .description('list backups in every store, newest first; damaged ones are marked DAMAGED with the reason; exit code 3 when a store did not answer or a backup is damaged')
    .argument('[database]', 'only this database')
    .option('--json', 'as JSON')
    .action(async (database: string | undefined, options: { json?: boolean }) => {
      const config = loadConfig();
      if (await (await commands.backups()).backupsCommand(await connectClient(config), config, database, options)) process.exitCode = 3;
    });

  program.addCommand(scheduleCommand({ config: loadConfig, connect: connectClient, integer }));

  program
    .command('prune')
    .description('apply retention to a database\'s backups now, on every store; the plan says what is kept and why')
    .argument('<database>')
    .option('--retention <rules>', 'e.g. keepDaily=7,keepWeekly=4 (default: maxAgeDays=RETENTION_DAYS)')
    .option('--dry-run', 'print the plan, delete nothing')
    .option('--json', 'the plan and what was done as JSON')
    .action(async (database: string, options: { retention?: string; dryRun?: boolean; json?: boolean }) => {
      const config = loadConfig();
      checkInput(() => validateDatabaseName(database));
      const policy = options.retention === undefined ? undefined : checkInput(() => parseRetentionSpec(options.retention!, cliSurface));
      if (await (await commands.prune()).pruneCommand(await connectClient(config), config, database, policy, { dryRun: options.dryRun === true, json: options.json === true })) process.exitCode = 3;
    });

  program
    .command('history')
    .description('pgkeeper runs from Temporal visibility: when, what, started by whom, outcome, backup id, duration')
    .argument('[database]')
    .option('-n, --limit <n>', 'how many runs', integer(1, 1000), 20)
    .option('--json', 'as JSON')
    .action(async (database: string | undefined, options: { limit: number; json?: boolean }) => {
      const config = loadConfig();
      await (await commands.history()).historyCommand(await connectClient(config), config, database, options);
    });

  program
    .command('status')
    .description('per database: last run, last good backup, damaged backups, last proven restore, next run; exit code 3 when any needs attention')
    .argument('[database]')
    .option('--json', 'as JSON')
    .action(async (database: string | undefined, options: { json?: boolean }) => {
      const config = loadConfig();
      if (await (await commands.status()).statusCommand(await connectClient(config), config, database, options)) process.exitCode = 3;
    });

  program
    .command('drill')
    .description('prove the newest backup of a database restores: restore into a scratch database, validate, drop, record the proof')
    .argument('<database>')
    .option('--store <url>', 'drill the copy in this store')
    .option('-j, --jobs <n>', 'parallel pg_restore jobs (default 2)', integer(1, 64))
    .option('-w, --wait', 'wait and print the proof')
    .action(async (database: string, options: { wait?: boolean; store?: string; jobs?: number }) => {
      const config = loadConfig();
      await (await commands.drill()).drillCommand(() => connectClient(config), config, database, options);
    });

  program
    .command('verify')
    .description('read every stored archive back (in every store, or --store) and check it against its manifest; damage found is recorded, so status reports it')
    .argument('[database]', 'only this database\'s backups (default: every backup, globals included)')
    .option('--store <url>', 'only this store (its URL as `pgkeeper backups` shows it, or as BACKUP_STORE/BACKUP_COPIES spell it)')
    .option('-w, --wait', 'wait and print what was found; exit code 3 when anything needs attention (damaged, unreadable, a store not readable or holding no backups)')
    .option('--json', 'wait and print what was found as JSON (exit codes as --wait)')
    .action(async (database: string | undefined, options: { wait?: boolean; json?: boolean; store?: string }) => {
      const config = loadConfig();
      if (await (await commands.verify()).verifyCommand(() => connectClient(config), config, database, options)) process.exitCode = 3;
    });

  program
    .command('setup')
    .description('register pgkeeper\'s search attributes on an existing Temporal cluster (npm run up does this for the dev server)')
    .action(async () => {
      const config = loadConfig();
      await (await commands.setup()).setupCommand(await connectClient(config), config);
    });

  program
    .command('worker')
    .description('run a worker: executes pgkeeper workflows and the pg tools for TASK_QUEUE (--queue)')
    .action(async () => {
      if (queueOption) process.env.TASK_QUEUE = queueOption;
      // The worker's logger outlives a log reader that went away (a log shipper that died): it must
      // go on backing up, not exit as a command whose reader stopped early does.
      for (const stream of [process.stdout, process.stderr]) stream.off('error', outputFailed);
      const { runWorker } = await import('../worker/run-worker.js');
      await runWorker();
    });

  // Every command takes --queue, wherever it is typed: it picks the PostgreSQL server (one worker and queue each).
  const withQueue = (command: Command): void => {
    command.option('-q, --queue <name>', 'the worker\'s task queue, i.e. which PostgreSQL server (default: TASK_QUEUE, else pgkeeper)');
    command.commands.forEach(withQueue);
  };
  withQueue(program);
  return program;
}

/**
 * Exits once stdout and stderr have handed everything to their pipes: process.exit drops what a
 * pipe has not yet taken, so `pgkeeper backups --json | jq` would read a listing cut off at 64 kB.
 * (An empty write's callback runs after every earlier write is flushed, or failed.)
 */
async function exit(code: number): Promise<never> {
  const flushed = (stream: NodeJS.WriteStream) => new Promise((resolve) => (stream.destroyed ? resolve(undefined) : stream.write('', resolve)));
  await Promise.all([process.stdout, process.stderr].map(flushed));
  process.exit(code);
}

/**
 * The output could not be written. A reader that stops early (`pgkeeper backups | head`) closes
 * the pipe: what it did not want is no error, and the command goes on to its own end and exit
 * code (`backup --wait | head -1` still says, by its exit code, how the backup ended).
 * Anything else (a full disk, `> /dev/full`) is one line and exit 1, never a stack trace.
 */
function outputFailed(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
  try {
    process.stderr.write(`pgkeeper: the output could not be written (${err.code ?? err.message}): ${err.code === 'ENOSPC' ? 'the disk it goes to is full' : err.message}\n`);
  } finally {
    process.exit(1);
  }
}

async function main(): Promise<void> {
  dropServerNameWarning();
  // Before parsing, so help and usage errors written to a closed pipe are covered too; the worker,
  // the one command that must outlive its reader, takes them off again.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', outputFailed);
  try {
    await buildProgram().parseAsync(process.argv);
    await exit(Number(process.exitCode ?? 0)); // gRPC connections would otherwise keep the process alive
  } catch (err) {
    // Writing to a file is synchronous: its failure (a full disk) is thrown where the output was written.
    if ((err as NodeJS.ErrnoException | undefined)?.syscall === 'write') {
      outputFailed(err as NodeJS.ErrnoException);
      await exit(1);
    }
    if (err instanceof CliError || err instanceof InputError) {
      // An InputError is a CliError not yet caught as one (a name checked deep in a command).
      process.stderr.write(`pgkeeper: ${err.message}\n`);
      await exit(err instanceof CliError ? err.exitCode : 1);
    }
    const namespace = namespaceMissingMessage(err);
    if (namespace) {
      process.stderr.write(`pgkeeper: ${namespace}\n`);
      await exit(2);
    }
    process.stderr.write(`pgkeeper: ${(err as Error).stack ?? String(err)}\n`);
    await exit(1);
  }
}

void main();
