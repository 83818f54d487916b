/**
 * What restores and drills share: the backup they read is pinned in its store for the whole run
 * (retention running meanwhile cannot take it away) and released at the end, and they wait for
 * the server itself rather than for one database.
 */
import { patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ResolveRequest } from '../activities/resolve-backup.js';
import { DEFAULT_WAIT_TIMEOUT_SECONDS } from '../common/backup-input.js';
import type { ResolvedBackup } from '../common/types.js';
import { quick, waiting } from './activity-options.js';
import { cleanUp } from './cleanup.js';

const { resolveBackup, unpinBackup } = proxyActivities<Activities>(quick);
const { waitForDatabase } = proxyActivities<Activities>(waiting(DEFAULT_WAIT_TIMEOUT_SECONDS));

export async function withPinnedBackup<T>(request: Omit<ResolveRequest, 'pin'>, use: (backup: ResolvedBackup) => Promise<T>): Promise<T> {
  const backup = await resolveBackup({ ...request, pin: workflowInfo().runId });
  try {
    return await use(backup);
  } finally {
    // A pin left behind expires and is swept by retention: it never fails this run.
    // A pin the store refused is not there to remove. Behind a patch: a run whose workflow code
    // predates this tried to remove it (and logged the refusal), and its replay must do the same.
    const refused = backup.pinRefused === true && patched('skip-refused-pin');
    if (backup.pinKey && !refused) await cleanUp(() => unpinBackup({ store: backup.store, pinKey: backup.pinKey! }), true);
  }
}

/** Waits until the server accepts connections to its maintenance database. */
export async function waitForServer(): Promise<void> {
  await waitForDatabase({ database: 'postgres', deadlineMs: Date.now() + DEFAULT_WAIT_TIMEOUT_SECONDS * 1000 });
}
