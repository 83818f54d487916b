/** `pgkeeper backups [database]`: complete backups, read from their manifests in BACKUP_DIR. */
import { listCompleteBackups } from '../../activities/backup-store.js';
import type { Config } from '../../common/config.js';
import { validateDatabaseName } from '../../common/names.js';
import { checkInput } from '../cli-error.js';
import { formatBytes, table } from '../format.js';

export async function backupsCommand(config: Config, database: string | undefined, options: { json?: boolean }): Promise<void> {
  if (database !== undefined) checkInput(() => validateDatabaseName(database));
  const backups = await listCompleteBackups(config.backupDir, database);
  if (options.json) {
    process.stdout.write(JSON.stringify(backups.map((b) => ({ ...b.manifest, path: b.paths.dump })), null, 2) + '\n');
    return;
  }
  if (backups.length === 0) {
    process.stdout.write(`no complete backups${database ? ` of "${database}"` : ''} in ${config.backupDir}\n`);
    return;
  }
  const rows = [['ID', 'DATABASE', 'SIZE', 'CREATED (UTC)', 'SHA256']];
  for (const { manifest } of backups) {
    rows.push([manifest.id, manifest.database, formatBytes(manifest.sizeBytes), manifest.startedAt.slice(0, 19).replace('T', ' '), manifest.sha256.slice(0, 12)]);
  }
  process.stdout.write(table(rows) + '\n');
}
