/**
 * checkTarget: before anything is fetched or created, a create-mode restore into an existing
 * database is refused, and so is a replace of one that does not exist: a name off by its case or
 * its Unicode form would otherwise become a second database beside the live one, "restored".
 */
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { failure, refusal } from './failures.js';
import { meantFor, sameLetters, serverDatabases } from './postgres/database-names.js';

export async function checkTarget(config: Config, req: { target: string; mode: 'create' | 'replace' }): Promise<void> {
  const names = await serverDatabases(config);
  const exists = names.includes(req.target);
  if (req.mode === 'create' && exists) {
    const problem = `database "${req.target}" already exists and the restore would create it`;
    throw refusal(config, FailureType.TargetExists, `${problem}; restore into another target, or replace it (with confirmation)`, problem);
  }
  if (req.mode === 'replace' && !exists) {
    const meant = meantFor(req.target, names);
    const problem = `database "${req.target}" does not exist on ${config.db.host}:${config.db.port}, so there is nothing to replace and nothing was changed${meant !== undefined ? `. Did you mean "${meant}"${sameLetters(req.target, meant)}?` : ''}`;
    throw refusal(
      config,
      FailureType.DatabaseMissing,
      `${problem}${meant !== undefined ? ' ' : '. '}To restore into a new database of that name, leave out --replace (in the UI, "mode": "create")`,
      problem,
    );
  }
}
