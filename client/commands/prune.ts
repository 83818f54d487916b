/** `pgkeeper prune <database>`: apply retention now (or plan it with --dry-run) and print the plan. */
import type { Client } from '@temporalio/client';
import type { Config } from '../../common/config.js';
import { describePolicy, type RetentionPolicy } from '../../common/retention-plan.js';
import type { applyRetention } from '../../workflows/apply-retention.js';
import { failedRun } from '../cli-error.js';
import { table } from '../format.js';
import { startOnDatabase } from '../start-workflow.js';

export async function pruneCommand(client: Client, config: Config, database: string, policy: RetentionPolicy | undefined, dryRun: boolean): Promise<void> {
  const handle = await startOnDatabase<typeof applyRetention>(client, config, 'applyRetention', { database, ...(policy ? { policy } : {}), dryRun }, database);
  const result = await handle.result().catch((err: unknown) => {
    throw failedRun(`prune of "${database}" failed`, err);
  });
  if (result.status === 'skipped') {
    process.stdout.write(`${result.reason}\n`);
    return;
  }
  process.stdout.write(`policy: ${describePolicy(result.policy)}${dryRun ? ' (dry run: nothing deleted)' : ''}\n`);
  for (const store of result.stores) {
    process.stdout.write(`\n${store.store}\n`);
    const rows = [['BACKUP', 'CREATED (UTC)', 'ACTION', 'WHY']];
    for (const d of store.plan) rows.push([d.id, d.createdAt.slice(0, 19).replace('T', ' '), d.action, d.reasons.join('; ')]);
    process.stdout.write((store.plan.length ? table(rows) : `no complete backups of "${database}"`) + '\n');
    if (!dryRun) process.stdout.write(`deleted ${store.deleted.length}, kept ${store.kept}${store.swept.length ? `, swept ${store.swept.length} leftovers` : ''}\n`);
  }
}
