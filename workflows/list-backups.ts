/**
 * listBackups (workflow): what the stores hold, asked of the worker that owns them. The CLI runs
 * it (`pgkeeper backups`, `status`) so that it needs access to Temporal only, not to the stores.
 * One page at a time: a result that says `next` has more, which `{"from": <next>}` lists.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { checkFields } from '../common/input-fields.js';
import { validateListingCursor } from '../common/listing-pages.js';
import { validateDatabaseName } from '../common/names.js';
import type { BackupListing, ListingCursor } from '../common/types.js';
import { quick } from './activity-options.js';
import { rejectInput } from './reject-input.js';

const activities = proxyActivities<Activities>(quick);

export async function listBackups(input: { database?: string; from?: ListingCursor } = {}, ...extra: unknown[]): Promise<BackupListing> {
  const request = rejectInput(
    () => {
      const value = checkFields(input ?? {}, ['database', 'from'], 'listBackups', '{"database": "app"}');
      const database = value.database === undefined ? undefined : validateDatabaseName(value.database);
      const from = value.from === undefined ? undefined : validateListingCursor(value.from, database);
      return { ...(database === undefined ? {} : { database }), ...(from === undefined ? {} : { from }) };
    },
    { input, extra },
  );
  return activities.listBackups(request);
}
