/** `pgkeeper prune <database>`: apply retention now (or plan it with --dry-run) and print the plan. */
import type { Client } from '@temporalio/client';
import type { Config } from '../../common/config.js';
import { describePolicy, type RetentionPolicy } from '../../common/retention-plan.js';
import type { applyRetention } from '../../workflows/apply-retention.js';
import { failedRun } from '../cli-error.js';
import { rootCauseDetails, rootCauseMessage } from '../../common/failure-message.js';
import type { RetentionResult } from '../../common/types.js';
import { otherDatabasesNote } from '../../common/names.js';
import { lastArgument } from '../../common/shell-word.js';
import { damageWord, printJson, sayUnreachable, showLines, table, utcTime } from '../format.js';
import { startOnDatabase } from '../start-workflow.js';
import { sayIfUntaken } from '../worker-workflow.js';
import { workflowOutcome } from '../workflow-outcome.js';

/** Returns whether the plan needs attention (exit 3, as `backups`): a store did not answer, so it was not planned. */
export async function pruneCommand(client: Client, config: Config, database: string, policy: RetentionPolicy | undefined, options: { dryRun: boolean; json: boolean }): Promise<boolean> {
  const { dryRun } = options;
  const handle = await startOnDatabase<typeof applyRetention>(client, config, 'applyRetention', { database, ...(policy ? { policy } : {}), dryRun }, database);
  const stopHint = sayIfUntaken(handle, config.temporal.taskQueue); // no progress is shown: a wait for no worker would be silent
  const result = await workflowOutcome(handle, config.temporal.address)
    .catch((err: unknown) => {
      // A store did not answer: what was done on the others is in the failure's details.
      const done = options.json ? (rootCauseDetails(err)?.[0] as RetentionResult | undefined) : undefined;
      if (done?.stores) printJson({ status: 'failed', dryRun, error: rootCauseMessage(err), ...done });
      throw failedRun(`prune of "${database}" failed`, err);
    })
    .finally(stopHint);
  const unreachable = result.status === 'skipped' ? [] : (result.unreachable ?? []);
  sayUnreachable(unreachable, 'not planned');
  if (options.json) {
    printJson(result);
    return unreachable.length > 0;
  }
  if (result.status === 'skipped') {
    process.stdout.write(showLines([result.reason]));
    return false;
  }
  process.stdout.write(`policy: ${describePolicy(result.policy)}${dryRun ? ' (dry run: nothing deleted)' : ''}\n`);
  for (const store of result.stores) {
    process.stdout.write(`\n${store.store}\n`);
    const damaged = store.damaged ?? []; // a worker older than this CLI reports none
    const lines = [
      ...store.plan.map((d) => ({ id: d.id, createdAt: d.createdAt, action: d.action, why: d.reasons.join('; ') })),
      // A damaged backup retention leaves (the policy would keep it, or its manifest is what is wrong): never counted, shown in its place, for a person.
      ...damaged.map((d) => ({
        id: d.id,
        createdAt: d.createdAt,
        action: damageWord([d]),
        why: `${d.reason}; ${d.newer ? 'not counted nor deleted by retention: keep it' : 'not counted, and left for a person: copy its archive back from a store that holds it intact, or delete its files by hand'}`,
      })),
    ].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    const rows = [['BACKUP', 'CREATED (UTC)', 'ACTION', 'WHY'], ...lines.map((l) => [l.id, utcTime(l.createdAt), l.action, l.why])];
    process.stdout.write((lines.length ? table(rows) : `no backups of "${database}"`) + '\n');
    const notListed = [
      ...(store.planNotListed?.delete ? [`${store.planNotListed.delete} more ${dryRun ? 'to delete' : 'deleted'}`] : []),
      ...(store.planNotListed?.keep ? [`${store.planNotListed.keep} more kept`] : []),
      ...(store.damagedNotListed ? [`${store.damagedNotListed} more DAMAGED (\`pgkeeper backups ${lastArgument(database)}\` lists them)`] : []),
    ];
    if (notListed.length) process.stdout.write(`and ${notListed.join(', ')}, not listed\n`);
    // What the sweep removes is no backup, but may be restorable by key: each named, with why.
    const leftovers = store.leftovers ?? []; // a worker older than this CLI gives keys only
    if (leftovers.length) {
      process.stdout.write(dryRun ? 'the sweep would remove these (not backups, so no listing shows them):\n' : 'swept (not backups, so no listing shows them):\n');
      process.stdout.write(table(leftovers.map((l) => [`  ${l.key}`, l.reason])) + '\n');
      if (store.sweptNotListed) process.stdout.write(`  and ${store.sweptNotListed} more, not listed\n`);
    }
    if (!dryRun) {
      const [deletedCount, damagedCount, sweptCount] = [store.deleted.length + (store.deletedNotListed ?? 0), damaged.length + (store.damagedNotListed ?? 0), store.swept.length + (store.sweptNotListed ?? 0)];
      const left = damagedCount ? `, ${damagedCount} DAMAGED left alone` : '';
      process.stdout.write(`deleted ${deletedCount}, kept ${store.kept}${left}${sweptCount ? `, swept ${sweptCount} leftovers` : ''}\n`);
    }
  }
  const note = otherDatabasesNote(database, result.others ?? []);
  if (note) process.stdout.write('\n' + showLines([`no store holds a backup of "${database}": ${note}`]));
  return unreachable.length > 0;
}
