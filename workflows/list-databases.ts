/**
 * listDatabases (workflow): the databases on the worker's server, asked of the worker (the CLI has
 * no access to PostgreSQL), so `pgkeeper schedule create` can refuse a name that is not there
 * instead of failing every night, and `pgkeeper status` can show every database an --all schedule
 * backs up. A question, not work: one attempt, within the CLI's short wait.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ServerDatabases } from '../common/types.js';
import { quick } from './activity-options.js';

const activities = proxyActivities<Activities>({ ...quick, startToCloseTimeout: '1m', retry: { ...quick.retry, maximumAttempts: 1 } });

export async function listDatabases(): Promise<ServerDatabases> {
  return activities.listServerDatabases({});
}
