/**
 * Reads a database's own properties (owner, encoding, locale, privileges, settings, comment) in
 * the dump's snapshot, for the manifest; a restore applies them to the staging database before
 * the swap (common/database-properties-sql.ts).
 */
import type pg from 'pg';
import type { DatabaseGrant, DatabaseProperties } from '../../common/manifest.js';

const PROVIDERS: Record<string, string> = { c: 'libc', i: 'icu', b: 'builtin' };

export async function readDatabaseProperties(client: pg.Client): Promise<DatabaseProperties> {
  // to_jsonb(d): the locale columns differ between server versions (daticulocale in 15-16, datlocale in 17+).
  const { rows } = await client.query<{ d: Record<string, unknown>; owner: string; encoding: string; comment: string | null; default_acl: boolean; tablespace: string }>(
    `select to_jsonb(d) - 'datacl' as d, pg_get_userbyid(d.datdba) as owner, pg_encoding_to_char(d.encoding) as encoding,
            shobj_description(d.oid, 'pg_database') as comment, d.datacl is null as default_acl,
            (select spcname from pg_tablespace t where t.oid = d.dattablespace) as tablespace
       from pg_database d where d.datname = current_database()`,
  );
  const row = rows[0]!;
  const grants = await client.query<{ grantee: string | null; privilege_type: string; is_grantable: boolean }>(
    `select case when a.grantee = 0 then null else pg_get_userbyid(a.grantee) end as grantee, a.privilege_type, a.is_grantable
       from pg_database d, aclexplode(d.datacl) a where d.datname = current_database()
      order by 1 nulls first, 2`,
  );
  const settings = await client.query<{ role: string | null; setconfig: string[] }>(
    `select case when s.setrole = 0 then null else pg_get_userbyid(s.setrole) end as role, s.setconfig
       from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase
      where d.datname = current_database() order by 1 nulls first`,
  );
  const byGrantee = new Map<string | null, DatabaseGrant>();
  for (const g of grants.rows) {
    const entry = byGrantee.get(g.grantee) ?? { grantee: g.grantee, privileges: [], grantable: [] };
    entry.privileges.push(g.privilege_type);
    if (g.is_grantable) entry.grantable.push(g.privilege_type);
    byGrantee.set(g.grantee, entry);
  }
  const d = row.d;
  return {
    owner: row.owner,
    encoding: row.encoding,
    collate: String(d.datcollate),
    ctype: String(d.datctype),
    localeProvider: typeof d.datlocprovider === 'string' ? (PROVIDERS[d.datlocprovider] ?? d.datlocprovider) : null,
    icuLocale: (d.datlocale ?? d.daticulocale ?? null) as string | null,
    connectionLimit: Number(d.datconnlimit ?? -1),
    grants: row.default_acl ? null : [...byGrantee.values()],
    settings: settings.rows.find((s) => s.role === null)?.setconfig ?? [],
    roleSettings: settings.rows.filter((s) => s.role !== null).map((s) => ({ role: s.role!, settings: s.setconfig })),
    comment: row.comment,
    // pg_dump does not record it: a database on its own disk would come back on the default one.
    ...(row.tablespace !== 'pg_default' ? { tablespace: row.tablespace } : {}),
  };
}
