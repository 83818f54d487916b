/**
 * The `pgkeeper` command line. Commands that talk to Temporal connect lazily, so `--help`
 * and `backups` work without a server.
 */
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, parseConfig, type Config } from '../common/config.js';
import { runWorker } from '../worker/run-worker.js';
import { checkInput, CliError } from './cli-error.js';
import { backupCommand, type BackupCommandOptions } from './commands/backup.js';
import { clusterCommand, type ClusterCommandOptions } from './commands/backup-cluster.js';
import { pruneCommand } from './commands/prune.js';
import { scheduleCommand } from './commands/schedule.js';
import { setupCommand } from './commands/setup.js';
import { historyCommand } from './commands/history.js';
import { statusCommand } from './commands/status.js';
import { drillCommand } from './commands/drill.js';
import { parseRetentionSpec } from '../common/backup-input.js';
import { validateDatabaseName } from '../common/names.js';
import { backupsCommand } from './commands/backups.js';
import { restoreCommand, type RestoreCommandOptions } from './commands/restore.js';
import { connectClient } from './temporal.js';

function loadConfig(): Config {
  try {
    return parseConfig(process.env, (p) => path.resolve(p));
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}

function list(value: string): string[] {
  return value.split(',').map((v) => v.trim()).filter(Boolean);
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

const ENVIRONMENT_HELP = `
Environment:
  DB_HOST, DB_PORT, DB_USER, DB_PASSWORD   PostgreSQL server (password only from the environment or PGPASSFILE)
  BACKUP_DIR                               where backups live (default .data/backups)
  RETENTION_DAYS                           keep backups this many days (default 7; the newest is always kept)
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE     Temporal server (default 127.0.0.1:7233, default)
  TEMPORAL_TLS, TEMPORAL_TLS_*             TLS and mutual TLS (README: "Connecting to a secured Temporal")
  TEMPORAL_API_KEY, TEMPORAL_API_KEY_FILE  API key (Temporal Cloud); implies TLS
  TASK_QUEUE                               worker task queue, one per PostgreSQL server (default pgkeeper)
  TEMPORAL_UI_URL                          Web UI for links (default http://<temporal host>:8233)
  LOG_LEVEL                                trace, debug, info, warn, error (default info)`;

const RESTORE_HELP = `
Examples:
  pgkeeper restore latest --database app --target app_restored --wait
  pgkeeper restore app-20261124T020000Z-1a2b3c4d --target app --replace --confirm app --jobs 4 --wait

From the Temporal UI: Start Workflow, task queue "pgkeeper" (TASK_QUEUE), workflow type
"restoreDatabase", any workflow id (e.g. restore-app-1; the run hands the work to the
per-database id pgkeeper:<queue>:<target>), and one JSON object as input:
  {"backup": "latest", "database": "app", "target": "app_restored"}
  {"backup": "<backup id>", "target": "app", "mode": "replace", "confirm": "app", "jobs": 2}
Optional fields: "noOwner": true, "noPrivileges": true.`;

export function buildProgram(): Command {
  const program = new Command('pgkeeper')
    .description('PostgreSQL backup and restore as durable Temporal workflows')
    .showHelpAfterError()
    .addHelpText('after', ENVIRONMENT_HELP);

  program
    .command('backup')
    .description('back up one database, or --all of them plus roles (pg_dump -Fc, SHA-256, verification, retention)')
    .argument('[database]', 'database to back up')
    .option('--all', 'every database on the server (templates excluded) and the globals (roles, tablespaces)')
    .option('--include <names>', 'with --all: only these, comma-separated, * allowed', list)
    .option('--exclude <names>', 'with --all: not these, comma-separated, * allowed', list)
    .option('--concurrency <n>', 'with --all: databases at once (default 2)', integer(1, 16))
    .option('-z, --compress-level <0-9>', 'pg_dump gzip level: 1 is fastest (default), 9 smallest', integer(0, 9))
    .option('--verify <full|toc>', 'full (default): read every block back while dumping; toc: table of contents only, faster')
    .option('-w, --wait', 'wait for the backup, showing progress, and print the result')
    .addHelpText('after', '\nExamples:\n  pgkeeper backup app --wait\n  pgkeeper backup --all --exclude scratch --wait')
    .action(async (database: string | undefined, options: BackupCommandOptions & ClusterCommandOptions & { all?: boolean }) => {
      const config = loadConfig();
      if (options.all === (database !== undefined)) throw new CliError('give one database to back up, or --all');
      if (options.all) await clusterCommand(() => connectClient(config), config, options);
      else await backupCommand(() => connectClient(config), config, database!, options);
    });

  program
    .command('restore')
    .description('restore a backup into a staging database, validate it, then swap it in; the live database is never dropped')
    .argument('<backup>', 'a backup id (see `pgkeeper backups`), "latest" (with --database), or the path of an archive inside BACKUP_DIR')
    .requiredOption('-t, --target <database>', 'database to restore into (must not exist, unless --replace)')
    .option('-d, --database <database>', 'whose newest backup "latest" means')
    .option('--replace', 'replace an existing target; the previous database is kept as <target>_pre_restore_<time>')
    .option('--confirm <database>', 'with --replace: the target name again')
    .option('-j, --jobs <n>', 'parallel pg_restore jobs (default 2)', integer(1, 64))
    .option('--no-owner', 'do not restore ownership: objects belong to DB_USER')
    .option('--no-privileges', 'do not restore GRANT/REVOKE')
    .option('--globals <id>', 'first create missing roles and tablespaces from a globals backup ("latest" or its id)')
    .option('-w, --wait', 'wait for the restore, showing progress, and print the result')
    .addHelpText('after', RESTORE_HELP)
    .action(async (backup: string, options: RestoreCommandOptions) => {
      const config = loadConfig();
      await restoreCommand(() => connectClient(config), config, backup, options);
    });

  program
    .command('backups')
    .description('list complete backups (those with a manifest), newest first')
    .argument('[database]', 'only this database')
    .option('--json', 'print the manifests as JSON')
    .action(async (database: string | undefined, options: { json?: boolean }) => {
      await backupsCommand(loadConfig(), database, options);
    });

  program.addCommand(scheduleCommand({ config: loadConfig, connect: connectClient, integer }));

  program
    .command('prune')
    .description('apply retention to a database\'s backups now; the plan says what is kept and why')
    .argument('<database>')
    .option('--retention <rules>', 'e.g. keepDaily=7,keepWeekly=4 (default: maxAgeDays=RETENTION_DAYS)')
    .option('--dry-run', 'print the plan, delete nothing')
    .action(async (database: string, options: { retention?: string; dryRun?: boolean }) => {
      const config = loadConfig();
      checkInput(() => validateDatabaseName(database));
      const policy = options.retention === undefined ? undefined : checkInput(() => parseRetentionSpec(options.retention!));
      await pruneCommand(await connectClient(config), config, database, policy, options.dryRun === true);
    });

  program
    .command('history')
    .description('pgkeeper runs from Temporal visibility: when, what, started by whom, outcome, backup id, duration')
    .argument('[database]')
    .option('-n, --limit <n>', 'how many runs (default 20)', integer(1, 1000), 20)
    .option('--json', 'as JSON')
    .action(async (database: string | undefined, options: { limit: number; json?: boolean }) => {
      const config = loadConfig();
      await historyCommand(await connectClient(config), config, database, options);
    });

  program
    .command('status')
    .description('per database: last run, last good backup, last proven restore, next run, stale; exit code 3 when any is stale')
    .argument('[database]')
    .option('--json', 'as JSON')
    .action(async (database: string | undefined, options: { json?: boolean }) => {
      const config = loadConfig();
      if (await statusCommand(await connectClient(config), config, database, options)) process.exitCode = 3;
    });

  program
    .command('drill')
    .description('prove the newest backup of a database restores: restore into a scratch database, validate, drop, record the proof')
    .argument('<database>')
    .option('-w, --wait', 'wait and print the proof')
    .action(async (database: string, options: { wait?: boolean }) => {
      const config = loadConfig();
      await drillCommand(await connectClient(config), config, database, options);
    });

  program
    .command('setup')
    .description('register pgkeeper\'s search attributes on an existing Temporal cluster (npm run up does this for the dev server)')
    .action(async () => {
      const config = loadConfig();
      await setupCommand(await connectClient(config), config);
    });

  program
    .command('worker')
    .description('run a worker: executes pgkeeper workflows and the pg tools for TASK_QUEUE')
    .action(async () => {
      await runWorker();
    });

  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
    process.exit(process.exitCode ?? 0); // gRPC connections would otherwise keep the process alive
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`pgkeeper: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`pgkeeper: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  }
}

void main();
