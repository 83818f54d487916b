/** The server's databases, and which of them a name that is not among them was likely meant for. */
import type { Config } from '../../common/config.js';
import { nearest } from '../../common/input-fields.js';
import { withAdmin } from './database-admin.js';

export async function serverDatabases(config: Config): Promise<string[]> {
  return withAdmin(config, async (client) => (await client.query<{ datname: string }>('select datname from pg_database where not datistemplate')).rows.map((r) => r.datname));
}

/** The database `name` may have been meant for, among `names`: the same but for Unicode form or case, or a near one. */
export function meantFor(name: string, names: string[]): string | undefined {
  return names.find((n) => n.normalize('NFC') === name.normalize('NFC')) ?? names.find((n) => n.toLowerCase() === name.toLowerCase()) ?? nearest(name, names);
}

/** " (the same letters, in another Unicode form)" when that is how `meant` differs from `name`. */
export function sameLetters(name: string, meant: string): string {
  return meant.normalize('NFC') === name.normalize('NFC') ? ' (the same letters, in another Unicode form)' : '';
}
