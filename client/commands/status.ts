/** `pgkeeper status [database]`: is it running, when did it last work, can we restore it? */
import type { Client } from '@temporalio/client';
import type { Config } from '../../common/config.js';
import { table } from '../format.js';
import { databaseStatus, knownDatabases } from '../status.js';

const when = (iso: string | undefined) => (iso ? iso.slice(0, 16).replace('T', ' ') : '-');

export async function statusCommand(client: Client, config: Config, database: string | undefined, options: { json?: boolean }): Promise<boolean> {
  const databases = database ? [database] : await knownDatabases(config);
  const statuses = await Promise.all(databases.map((db) => databaseStatus(client, config, db)));
  if (options.json) {
    process.stdout.write(JSON.stringify(statuses, null, 2) + '\n');
  } else if (statuses.length === 0) {
    process.stdout.write(`no backups in ${config.backupDir} yet; start one with \`pgkeeper backup <database>\`\n`);
  } else {
    const rows = [['DATABASE', 'LAST RUN', 'LAST GOOD BACKUP', 'LAST PROVEN RESTORE', 'NEXT RUN', 'STALE']];
    for (const s of statuses) {
      rows.push([
        s.database,
        s.lastRun ? `${when(s.lastRun.at)} ${s.lastRun.outcome}` : '-',
        when(s.lastSuccessfulBackup?.at),
        when(s.lastProvenRestore?.at),
        s.schedule ? (s.schedule.paused ? 'paused' : when(s.schedule.nextRun ?? undefined)) : 'no schedule',
        s.stale === null ? '-' : s.stale ? 'STALE' : 'ok',
      ]);
    }
    process.stdout.write(table(rows) + '\n');
  }
  return statuses.some((s) => s.stale === true);
}
