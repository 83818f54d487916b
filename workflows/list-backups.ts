/**
 * listBackups (workflow): what the stores hold, asked of the worker that owns them. The CLI runs
 * it (`pgkeeper backups`, `status`) so that it needs access to Temporal only, not to the stores.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { checkFields } from '../common/input-fields.js';
import { validateDatabaseName } from '../common/names.js';
import type { BackupListing } from '../common/types.js';
import { quick } from './activity-options.js';
import { rejectInput } from './reject-input.js';

const activities = proxyActivities<Activities>(quick);

export async function listBackups(input: { database?: string } = {}): Promise<BackupListing> {
  const database = rejectInput(() => {
    const value = checkFields(input ?? {}, ['database'], 'listBackups', '{"database": "app"}');
    return value.database === undefined ? undefined : validateDatabaseName(value.database);
  });
  return activities.listBackups(database === undefined ? {} : { database });
}
