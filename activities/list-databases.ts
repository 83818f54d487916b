/** listClusterDatabases: the server's databases that a cluster backup covers (never templates). */
import type { Config } from '../common/config.js';
import { selectDatabases } from '../common/cluster-input.js';
import { isStagingName, withAdmin } from './postgres/database-admin.js';

export async function listClusterDatabases(config: Config, req: { include: string[]; exclude: string[] }): Promise<string[]> {
  const all = await withAdmin(config, async (client) =>
    (await client.query<{ datname: string }>('select datname from pg_database where not datistemplate order by datname')).rows.map((r) => r.datname),
  );
  // pgkeeper's own staging and drill databases are work in progress, never worth a backup.
  return selectDatabases(all, req.include, req.exclude).filter((db) => !isStagingName(db));
}
