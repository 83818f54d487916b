/**
 * What restores and drills share: the archive they read is pinned for the whole run (retention
 * running meanwhile cannot take it away) and released at the end, and they wait for the server
 * itself rather than for one database.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ResolveRequest } from '../activities/resolve-backup.js';
import { DEFAULT_WAIT_TIMEOUT_SECONDS } from '../common/backup-input.js';
import type { ResolvedBackup } from '../common/types.js';
import { quick, waiting } from './activity-options.js';
import { cleanUp } from './cleanup.js';

const { resolveBackup, unpinBackup } = proxyActivities<Activities>(quick);
const { waitForDatabase } = proxyActivities<Activities>(waiting(DEFAULT_WAIT_TIMEOUT_SECONDS));

export async function withPinnedBackup<T>(request: Omit<ResolveRequest, 'pin'>, use: (backup: ResolvedBackup) => Promise<T>): Promise<T> {
  const pin = workflowInfo().runId;
  try {
    return await use(await resolveBackup({ ...request, pin }));
  } finally {
    // A pin left behind is swept by a later run: it never fails this one.
    await cleanUp(() => unpinBackup({ pin }), true);
  }
}

/** Waits until the server accepts connections to its maintenance database. */
export async function waitForServer(): Promise<void> {
  await waitForDatabase({ database: 'postgres', deadlineMs: Date.now() + DEFAULT_WAIT_TIMEOUT_SECONDS * 1000 });
}
