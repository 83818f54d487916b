/** checkTarget: before anything is fetched or created, a create-mode restore into an existing database is refused. */
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { failure } from './failures.js';
import { databaseExists, withAdmin } from './postgres/database-admin.js';

export async function checkTarget(config: Config, req: { target: string; mode: 'create' | 'replace' }): Promise<void> {
  if (req.mode !== 'create') return;
  if (await withAdmin(config, (client) => databaseExists(client, req.target))) {
    throw failure(config, FailureType.TargetExists, `database "${req.target}" already exists and the restore would create it; restore into another target, or replace it (with confirmation)`);
  }
}
