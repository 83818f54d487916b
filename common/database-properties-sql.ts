/**
 * The SQL that gives a restored database the properties of its source: locale and encoding at
 * CREATE DATABASE, then owner, connection limit, privileges, settings, per-role settings and
 * comment. pg_restore into an existing database restores none of these (only `pg_restore --create`
 * would, and that would create the database under its old name). Pure: built here, run by an activity.
 */
import type { DatabaseGrant, DatabaseProperties } from './manifest.js';
import { quoteIdent, quoteLiteral } from './sql.js';

/** The options after CREATE DATABASE that reproduce the source's encoding and locale on a server of `serverVersionNum`. */
export function createDatabaseOptions(p: DatabaseProperties, serverVersionNum: number, { noTablespaces }: { noTablespaces: boolean }): string {
  const parts = ['template template0', `encoding ${quoteLiteral(p.encoding)}`, `lc_collate ${quoteLiteral(p.collate)}`, `lc_ctype ${quoteLiteral(p.ctype)}`];
  if (p.tablespace !== undefined && !noTablespaces) parts.push(`tablespace ${quoteIdent(p.tablespace)}`);
  if (p.localeProvider && p.localeProvider !== 'libc') {
    // Before PostgreSQL 15 every database used libc: a server that old cannot hold an ICU database.
    if (serverVersionNum < 150000) throw new LocaleProviderError(p.localeProvider);
    parts.push(`locale_provider ${quoteLiteral(p.localeProvider)}`);
    if (p.icuLocale) parts.push(`${p.localeProvider === 'builtin' ? 'builtin_locale' : 'icu_locale'} ${quoteLiteral(p.icuLocale)}`);
  } else if (serverVersionNum >= 150000) {
    parts.push(`locale_provider 'libc'`);
  }
  return parts.join(' ');
}

export class LocaleProviderError extends Error {
  constructor(readonly provider: string) {
    super(`the backup's database uses the ${provider} locale provider, which this PostgreSQL (before 15) does not have`);
  }
}

/** Settings whose value is a list of names; pg_dump quotes each element (search_path = 'app', '$user'). */
const LIST_SETTINGS = new Set(['local_preload_libraries', 'search_path', 'session_preload_libraries', 'shared_preload_libraries', 'temp_tablespaces', 'unix_socket_directories']);

/** Splits a stored list setting (`app, "$user", public`) into its names, as PostgreSQL's SplitGUCList does. */
export function splitSettingList(value: string): string[] {
  const names: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < value.length && /\s/.test(value[i]!)) i++;
  };
  skipSpace();
  if (i >= value.length) return names;
  for (;;) {
    let name = '';
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= value.length) return names; // unterminated: keep what was complete
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            name += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        name += value[i++];
      }
    } else {
      while (i < value.length && value[i] !== ',' && !/\s/.test(value[i]!)) name += value[i++];
    }
    names.push(name);
    skipSpace();
    if (value[i] !== ',') return names;
    i++;
    skipSpace();
  }
}

/** `SET name TO value` for one stored "name=value" setting. */
export function setClause(setting: string): string {
  const eq = setting.indexOf('=');
  const name = setting.slice(0, eq);
  const value = setting.slice(eq + 1);
  const rendered = LIST_SETTINGS.has(name.toLowerCase()) ? splitSettingList(value).map(quoteLiteral).join(', ') || "''" : quoteLiteral(value);
  return `set ${name.split('.').map(quoteIdent).join('.')} to ${rendered}`;
}

const ALL_PRIVILEGES = ['CONNECT', 'CREATE', 'TEMPORARY'];

function grantStatements(db: string, g: DatabaseGrant): string[] {
  const who = g.grantee === null ? 'public' : quoteIdent(g.grantee);
  const plain = g.privileges.filter((p) => !g.grantable.includes(p));
  return [
    ...(plain.length ? [`grant ${plain.join(', ')} on database ${db} to ${who}`] : []),
    ...(g.grantable.length ? [`grant ${g.grantable.join(', ')} on database ${db} to ${who} with grant option`] : []),
  ];
}

export interface PropertyOptions {
  noOwner: boolean;
  noPrivileges: boolean;
}

/**
 * Without owner and privileges a restore needs no role of the server: the per-role settings of a
 * role the server lacks are then left out (they would apply to no one), with a warning naming them.
 */
export function rolesOptional(options: PropertyOptions): boolean {
  return options.noOwner && options.noPrivileges;
}

/**
 * Statements for `database` (the staging database) that apply `p`, as `noOwner`/`noPrivileges`
 * allow; per-role settings of the `absentRoles` left out; `comment` as the comment to set (the
 * source's, held under the staging mark until the swap).
 */
export function propertyStatements(database: string, p: DatabaseProperties, options: PropertyOptions & { absentRoles?: ReadonlySet<string>; comment: string | null }): string[] {
  const db = quoteIdent(database);
  const out: string[] = [];
  if (!options.noOwner) out.push(`alter database ${db} owner to ${quoteIdent(p.owner)}`);
  if (p.connectionLimit !== -1) out.push(`alter database ${db} connection limit ${Math.trunc(p.connectionLimit)}`);
  if (p.grants !== null && !options.noPrivileges) {
    // Start from nothing granted to PUBLIC, then grant exactly what the source had (as pg_dump does).
    out.push(`revoke all on database ${db} from public`);
    const own = p.grants.find((g) => g.grantee === p.owner);
    if (!options.noOwner && !(own && ALL_PRIVILEGES.every((priv) => own.privileges.includes(priv)) && own.grantable.length === ALL_PRIVILEGES.length)) {
      out.push(`revoke all on database ${db} from ${quoteIdent(p.owner)}`);
      if (own) out.push(...grantStatements(db, own));
    }
    for (const g of p.grants) if (g.grantee !== p.owner) out.push(...grantStatements(db, g));
  }
  for (const s of p.settings) out.push(`alter database ${db} ${setClause(s)}`);
  for (const { role, settings } of p.roleSettings) {
    if (!options.absentRoles?.has(role)) for (const s of settings) out.push(`alter role ${quoteIdent(role)} in database ${db} ${setClause(s)}`);
  }
  out.push(`comment on database ${db} is ${options.comment === null ? 'null' : quoteLiteral(options.comment)}`);
  return out;
}

/** Roles the properties need on the target server, as `noOwner`/`noPrivileges` allow. */
export function rolesNeeded(p: DatabaseProperties, options: PropertyOptions): string[] {
  const roles = new Set<string>();
  if (!options.noOwner) roles.add(p.owner);
  if (!options.noPrivileges) for (const g of p.grants ?? []) if (g.grantee !== null && g.grantee !== p.owner) roles.add(g.grantee);
  if (!rolesOptional(options)) for (const { role } of p.roleSettings) roles.add(role);
  return [...roles];
}
