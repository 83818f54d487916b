/**
 * listClusterDatabases: the server's databases that a cluster backup covers (never template0 or template1);
 * listServerDatabases: every one, for the CLI (`schedule create` checks a name against them,
 * `status` shows those an --all schedule covers).
 */
import type { Config } from '../common/config.js';
import { clusterSelection } from '../common/cluster-input.js';
import { FailureType } from '../common/errors.js';
import type { ServerDatabases } from '../common/types.js';
import { listedNames } from '../common/names.js';
import { failure } from './failures.js';
import { isStagingName } from '../common/restore-input.js';
import { withAdmin } from './postgres/database-admin.js';
import { STAGING_MARK } from './postgres/staging-mark.js';

/** Every database on the server, templates and pgkeeper's own staging databases included: a name to check is checked against all. */
export async function listServerDatabases(config: Config): Promise<ServerDatabases> {
  const rows = await withAdmin(
    config,
    async (client) =>
      (
        await client.query<{ datname: string; datistemplate: boolean; datallowconn: boolean; comment: string | null }>(
          `select datname, datistemplate, datallowconn, shobj_description(oid, 'pg_database') as comment from pg_database order by datname`,
        )
      ).rows,
  );
  const names = (rows: { datname: string }[]) => rows.map((r) => r.datname);
  return {
    server: `${config.db.host}:${config.db.port}`,
    databases: names(rows),
    templates: names(rows.filter((r) => r.datistemplate)),
    closedTemplates: names(rows.filter((r) => r.datistemplate && !r.datallowconn)),
    staging: names(rows.filter((r) => isStagingName(r.datname) && r.comment?.startsWith(STAGING_MARK))),
  };
}

export async function listClusterDatabases(config: Config, req: { include: string[]; exclude: string[] }): Promise<string[]> {
  const found = await listServerDatabases(config);
  const { candidates, selected } = clusterSelection(found, req.include, req.exclude);
  if (selected.length === 0) {
    // A mistyped pattern must not turn the nightly backup of every database into a backup of none that reports success.
    const patterns = [...(req.include.length ? [`include ${req.include.map((p) => `"${p}"`).join(', ')}`] : []), ...(req.exclude.length ? [`exclude ${req.exclude.map((p) => `"${p}"`).join(', ')}`] : [])];
    throw failure(
      config,
      FailureType.InvalidInput,
      patterns.length
        ? `no database to back up: ${patterns.join(' and ')} leave${patterns.length === 1 ? 's' : ''} none of the databases on ${found.server} (${listedNames(candidates)}); nothing was backed up. Check the patterns (* stands for any characters)`
        : `no database to back up on ${found.server}; nothing was backed up`,
    );
  }
  return selected;
}
