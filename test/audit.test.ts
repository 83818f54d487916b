/**
 * The audit trail: search attributes on every run (also one started under any id, as from the
 * Temporal UI or a schedule, which hands its work to the database's lock holder), the root cause as
 * a failed run's top message, `pgkeeper history` and `status`, and restore drills on both stores:
 * proofs recorded in the store, a damaged newest backup failing the drill loudly.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createSchedule } from '../client/schedules.js';
import { databaseStatus } from '../client/status.js';
import { listRuns, runsQuery, type RunRecord } from '../client/visibility.js';
import { fetchListing } from '../client/commands/backups.js';
import { openStore } from '../activities/store/open-stores.js';
import { backupKeys } from '../common/backup-keys.js';
import { databaseWorkflowId } from '../common/names.js';
import { PGK_BACKUP_ID, PGK_DATABASE, PGK_OPERATION, PGK_OUTCOME, PGK_STARTED_BY } from '../common/search-attributes.js';
import type { DrillProof } from '../common/types.js';
import { applyRetention, backupDatabase, restoreDatabase, restoreDrill } from '../workflows/index.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { writeFakeBackup } from './helpers/fake-backups.js';
import { createDatabase, dropDatabase, listDatabases, seedDatabase } from './helpers/postgres.js';
import { waitFor } from './helpers/processes.js';
import { readObject, STORE_KINDS, storeUnderTest, type StoreUnderTest } from './helpers/stores.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { rootFailure, runBackup } from './helpers/workflows.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The search attributes Temporal holds for a run: what the UI's filters and `pgkeeper history` see. */
async function attributesOf(handle: WorkflowHandle) {
  const sa = (await handle.describe()).typedSearchAttributes;
  return { database: sa.get(PGK_DATABASE), operation: sa.get(PGK_OPERATION), outcome: sa.get(PGK_OUTCOME), backupId: sa.get(PGK_BACKUP_ID), startedBy: sa.get(PGK_STARTED_BY) };
}

/** The message of the run's WorkflowExecutionFailed event: the first line the Temporal UI shows. */
async function failureShownInUi(handle: WorkflowHandle): Promise<string | undefined> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.find((e) => e.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes?.failure?.message ?? undefined;
}

describe('audit: search attributes, root causes, history, status', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  const database = uniqueName('pgk_audit');
  const cli = (...args: string[]) => execa(`${ROOT}/bin/pgkeeper`, args, { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: config.temporal.taskQueue } });

  before(async () => {
    env = await startDevServer();
    await seedDatabase(config, database);
  });
  after(async () => {
    await dropDatabase(config, database);
    await env?.teardown();
  });

  it('a backup run is found by its database and backup id attributes; history shows it', async () => {
    const backup = await withWorker(env, config, () => runBackup(env, config, database));
    const runs = await waitFor('visibility to index the run', async () => {
      const found = await listRuns(env.client, config, { database, backupId: backup.backupId }, 10);
      return found.length === 1 && found[0]!.outcome === 'completed' ? found : undefined;
    });
    assert.equal(runs[0]!.operation, 'backup');
    assert.equal(runs[0]!.startedBy, 'manual');
    assert.equal(runsQuery(config, { database: "x'y" }).includes("PgkDatabase = 'x''y'"), true, 'query literals are quoted');

    const history = await cli('history', database);
    assert.equal(history.exitCode, 0, history.stderr);
    assert.match(history.stdout, new RegExp(`backup\\s+${database}\\s+manual\\s+completed\\s+${backup.backupId}`));

    // A backup run that failed (no such database) made no backup: history names none for it.
    const gone = uniqueName('pgk_audit_gone');
    const failed = await withWorker(env, config, () => runBackup(env, config, gone).catch((e: unknown) => e));
    assert.ok(failed instanceof WorkflowFailedError, String(failed));
    const listed = await waitFor('visibility to index the failed run', async () => {
      const run = await cli('history', gone);
      return /\bfailed\b/.test(run.stdout) ? run : undefined;
    });
    assert.match(listed.stdout, new RegExp(`backup\\s+${gone}\\s+manual\\s+failed\\s+-\\s`));
    // Why, below the table and in --json: visibility keeps no failure, the run's close does.
    assert.match(listed.stdout, new RegExp(`^FAILED \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d(:\\d\\d)? backup of ${gone}: .*"${gone}" does not exist`, 'm'));
    const json = JSON.parse((await cli('history', gone, '--json')).stdout) as (RunRecord & { reason?: string })[];
    assert.match(json[0]!.reason ?? '', new RegExp(`"${gone}" does not exist`));
    assert.equal((JSON.parse((await cli('history', database, '--json')).stdout) as (RunRecord & { reason?: string })[])[0]!.reason, undefined, 'none for a run that completed');
  });

  it('history finds the runs of a database whose name holds quotes and accents (a double quote no visibility query matches)', async () => {
    const odd = `${uniqueName('pgk_audit')} o'q"é`;
    await createDatabase(config, odd);
    try {
      const backup = await withWorker(env, config, () => runBackup(env, config, odd));
      const runs = await waitFor('visibility to index the run', async () => {
        const found = await listRuns(env.client, config, { database: odd }, 10);
        return found.length === 1 && found[0]!.outcome === 'completed' ? found : undefined;
      });
      assert.deepEqual([runs[0]!.database, runs[0]!.backupId], [odd, backup.backupId]);
      assert.deepEqual(await listRuns(env.client, config, { database: `${odd}x` }, 10), [], 'only that database');
      const history = await cli('history', odd, '--json');
      assert.equal(history.exitCode, 0, history.stderr);
      assert.deepEqual((JSON.parse(history.stdout) as RunRecord[]).map((r) => [r.database, r.backupId]), [[odd, backup.backupId]]);
    } finally {
      await dropDatabase(config, odd);
    }
  });

  it('history tells a planned retention (prune --dry-run) from one that ran', async () => {
    const db = uniqueName('pgk_audit_prune');
    await writeFakeBackup(openStore(config.stores.primary), db, 1);
    await withWorker(env, config, async () => {
      for (const args of [['prune', db, '--dry-run'], ['prune', db]]) {
        const ran = await cli(...args);
        assert.equal(ran.exitCode, 0, ran.stderr);
      }
    });
    const runs = await waitFor('visibility to index both runs', async () => {
      const found = await listRuns(env.client, config, { database: db, operations: ['retention'] }, 10);
      return found.length === 2 && found.every((r) => r.outcome !== 'running') ? found : undefined;
    });
    assert.deepEqual(runs.map((r) => r.outcome), ['completed', 'dry-run'], 'newest first');
    const history = await cli('history', db);
    assert.match(history.stdout, new RegExp(`retention\\s+${db}\\s+manual\\s+dry-run`));
  });

  it('a backup started under any id (as from the UI) carries the search attributes itself, and history shows the operation once', async () => {
    const uiId = uniqueName('backup-from-ui');
    const handle = await withWorker(env, config, async () => {
      const h = await env.client.workflow.start(backupDatabase, { args: [{ database }], taskQueue: config.temporal.taskQueue, workflowId: uiId });
      await h.result();
      return h;
    });
    const result = await handle.result();
    assert.ok(result.status === 'completed', result.status);
    // The run the engineer started, not only the lock holder it handed the work to.
    assert.deepEqual(await attributesOf(handle), { database, operation: 'backup', outcome: 'completed', backupId: result.backupId, startedBy: 'manual' });
    const holder = env.client.workflow.getHandle(databaseWorkflowId(config.temporal.taskQueue, database));
    assert.equal((await attributesOf(holder)).backupId, result.backupId, 'the lock holder did the work');

    // Both runs carry the attributes; history shows the operation once, as the run that was started.
    const indexed = `${runsQuery(config, { database, backupId: result.backupId, outcome: 'completed' })}`;
    await waitFor('visibility to index both runs', async () => (await env.client.workflow.count(indexed)).count === 2);
    const json = await cli('history', database, '--json');
    assert.equal(json.exitCode, 0, json.stderr);
    const runs = (JSON.parse(json.stdout) as RunRecord[]).filter((r) => r.backupId === result.backupId);
    assert.deepEqual(runs.map((r) => [r.workflowId, r.operation, r.outcome]), [[uiId, 'backup', 'completed']]);
  });

  it('a restore started under any id that fails says the root cause first, and carries the search attributes', async () => {
    const never = uniqueName('pgk_never_backed_up');
    const target = uniqueName('pgk_audit_target');
    const uiId = uniqueName('restore-from-ui');
    const err = await withWorker(env, config, () =>
      env.client.workflow
        .execute(restoreDatabase, { args: [{ backup: 'latest', database: never, target }], taskQueue: config.temporal.taskQueue, workflowId: uiId })
        .catch((e: unknown) => e),
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const reason = new RegExp(`^no backup of "${never}" in file://\\S+(; .*)?; if the name is right, run \`pgkeeper backup ${never}\` first$`);
    assert.match(err.cause!.message, reason, 'the run\'s own failure is the reason, not "Child Workflow execution failed"');
    assert.equal((err.cause as { type?: string }).type, 'BackupNotFound');
    const handle = env.client.workflow.getHandle(uiId);
    assert.match((await failureShownInUi(handle)) ?? '', reason);
    assert.deepEqual(await attributesOf(handle), { database: target, operation: 'restore', outcome: 'failed', backupId: undefined, startedBy: 'manual' });
    assert.equal((await listDatabases(config)).includes(target), false);
  });

  it('a run refused for its input (as typed in the UI) carries the search attributes too: history shows it failed', async () => {
    const named = uniqueName('pgk_audit_typo');
    const [typo, bare, twiceId] = [uniqueName('backup-typo'), uniqueName('backup-bare'), uniqueName('restore-twice')];
    await withWorker(env, config, async () => {
      const refused = await env.client.workflow
        .execute(backupDatabase, { args: [{ database: named, compression: 'zstd:99' }], taskQueue: config.temporal.taskQueue, workflowId: typo })
        .catch((e: unknown) => e);
      assert.ok(refused instanceof WorkflowFailedError);
      assert.equal(rootFailure(refused).type, 'InvalidInput');
      // A bare string where the object goes: no database to name, the run still found by its operation.
      const unnamed = await env.client.workflow.execute('backupDatabase', { args: [named], taskQueue: config.temporal.taskQueue, workflowId: bare }).catch((e: unknown) => e);
      assert.ok(unnamed instanceof WorkflowFailedError);
      // A name no database can have (past Temporal's attribute size too) fails the run, as any refusal.
      const huge = await env.client.workflow.execute(backupDatabase, { args: [{ database: 'x'.repeat(3000) }], taskQueue: config.temporal.taskQueue, workflowId: uniqueName('backup-huge') }).catch((e: unknown) => e);
      assert.ok(huge instanceof WorkflowFailedError);
      assert.equal(rootFailure(huge).type, 'InvalidInput');
      // Two inputs (the UI takes a list): the second's fields would be ignored, so the run is refused.
      const twice = await env.client.workflow
        .execute('restoreDatabase', { args: [{ database: named, target: named }, { backup: '20260101T000000Z-00000000' }], taskQueue: config.temporal.taskQueue, workflowId: twiceId })
        .catch((e: unknown) => e);
      assert.ok(twice instanceof WorkflowFailedError);
      assert.equal(rootFailure(twice).type, 'InvalidInput');
      assert.match(rootFailure(twice).message, /^the input is one JSON object holding every field; this run was started with 2 inputs: put their fields into the first and start it again$/);
      // A listing too (it would list the first input's database), though it is no operation of the history's.
      const listedTwice = await env.client.workflow
        .execute('listBackups', { args: [{ database: named }, { database: 'other' }], taskQueue: config.temporal.taskQueue, workflowId: uniqueName('list-twice') })
        .catch((e: unknown) => e);
      assert.ok(listedTwice instanceof WorkflowFailedError);
      assert.match(rootFailure(listedTwice).message, /^the input is one JSON object holding every field; this run was started with 2 inputs/);
    });
    assert.deepEqual(await attributesOf(env.client.workflow.getHandle(typo)), { database: named, operation: 'backup', outcome: 'failed', backupId: undefined, startedBy: 'manual' });
    assert.deepEqual(await attributesOf(env.client.workflow.getHandle(bare)), { database: undefined, operation: 'backup', outcome: 'failed', backupId: undefined, startedBy: 'manual' });
    assert.deepEqual(await attributesOf(env.client.workflow.getHandle(twiceId)), { database: named, operation: 'restore', outcome: 'failed', backupId: undefined, startedBy: 'manual' });
    const history = await waitFor('visibility to index the refused run', async () => {
      const run = await cli('history', named);
      return run.stdout.includes(named) ? run : undefined;
    });
    assert.match(history.stdout, new RegExp(`backup\\s+${named}\\s+manual\\s+failed`));
  });

  it('status reports a database whose newest backup is older than its schedule promises as stale', async () => {
    const old = uniqueName('pgk_stale');
    const made = await writeFakeBackup(openStore(config.stores.primary), old, 3 / 24); // three hours ago, for an hourly schedule
    const at = Date.parse(made.startedAt);
    const schedule = await createSchedule(env.client, config, { database: old }, { every: '1h' });
    await schedule.pause('no runs in this test');
    try {
      const listing = await withWorker(env, config, () => fetchListing(env.client, config, old));
      const stale = await databaseStatus(env.client, config, listing, old);
      assert.equal(stale.schedule?.intervalMs, 3_600_000);
      assert.equal(stale.lastSuccessfulBackup?.backupId, made.id);
      assert.equal(stale.stale, true);
      const fresh = await databaseStatus(env.client, config, listing, old, at + 30 * 60_000);
      assert.equal(fresh.stale, false, 'half an hour after the backup it was not stale');

      const status = await withWorker(env, config, () => cli('status', old));
      assert.equal(status.exitCode, 3, 'status exits 3 when a backup is stale');
      assert.match(status.stdout, new RegExp(`${old}\\s.*paused\\s+STALE`));
    } finally {
      await schedule.delete();
    }
  });
});

for (const kind of STORE_KINDS) {
  describe(`restore drills (${kind} store)`, () => {
    let env: TestWorkflowEnvironment;
    let t: StoreUnderTest;
    const database = uniqueName('pgk_drill');
    const notifications: { text: string; pgkeeper: Record<string, unknown> }[] = [];
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        notifications.push(JSON.parse(body));
        res.writeHead(200).end('ok');
      });
    });

    const drill = (workflowId = uniqueName('drill')) =>
      env.client.workflow.execute(restoreDrill, { args: [{ database }], taskQueue: t.config.temporal.taskQueue, workflowId });
    const fetchListingWithWorker = () => withWorker(env, t.config, () => fetchListing(env.client, t.config, database));

    before(async () => {
      await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
      t = await storeUnderTest(kind, { NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as net.AddressInfo).port}/hook` });
      env = await startDevServer();
      await seedDatabase(t.config, database);
    });
    after(async () => {
      hook.close();
      await dropDatabase(t.config, database);
      await env?.teardown();
      await t?.stop();
    });

    it('a drill of a good backup records its proof in the store and leaves no scratch database; status shows it', async () => {
      const backup = await withWorker(env, t.config, () => runBackup(env, t.config, database));
      const result = await withWorker(env, t.config, () => drill());
      assert.equal(result.backupId, backup.backupId);
      assert.equal(result.tables, 3);
      assert.equal(result.rows, 10_000);
      assert.equal(result.proofRecorded, true);
      const proof = JSON.parse((await readObject(t.store, backupKeys(database, backup.backupId, []).drillProof)).toString()) as DrillProof;
      assert.equal(proof.backupId, backup.backupId);
      assert.equal(proof.store, t.store.url);
      assert.deepEqual((await listDatabases(t.config)).filter((n) => n.startsWith('pgkeeper_drill_')), []);
      const listing = await fetchListingWithWorker();
      const status = await databaseStatus(env.client, t.config, listing, database);
      assert.deepEqual(status.lastProvenRestore, { at: proof.provenAt, backupId: backup.backupId });
      // The table names the backup proven, as it does the last good one: not always the newest.
      const text = await withWorker(env, t.config, () =>
        execa(`${ROOT}/bin/pgkeeper`, ['status', database], { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: t.config.temporal.taskQueue } }),
      );
      assert.match(text.stdout, new RegExp(`^${database}\\s.*\\s${proof.provenAt.slice(0, 16).replace('T', ' ')} ${backup.backupId}\\s`, 'm'), text.stdout + text.stderr);
      assert.equal(notifications.length, 0, 'no notification for a success (NOTIFY_ON=failure)');
    });

    it('a drill whose newest backup is damaged fails loudly, naming it and the newest intact one; it never proves the older one', async () => {
      const intact = (await fetchListingWithWorker()).backups.find((b) => b.status === 'complete')!;
      // A newer backup, damaged as a truncated upload or a bad disk would: its archive is shorter than its manifest says.
      const damaged = await writeFakeBackup(t.store, database, 0);
      const archive = backupKeys(database, damaged.id, []).archive;
      await t.store.put(archive, (await readObject(t.store, archive)).subarray(0, 5));
      const proofBefore = await t.store.getText(backupKeys(database, intact.id, []).drillProof);

      const workflowId = uniqueName('drill-damaged');
      const err = await withWorker(env, t.config, () => drill(workflowId).catch((e: unknown) => e));
      assert.ok(err instanceof WorkflowFailedError, String(err));
      assert.equal(rootFailure(err).type, 'BackupDamaged');
      const message = err.cause!.message;
      assert.match(message, new RegExp(`^the newest backup of "${database}", ${damaged.id}, is DAMAGED \\(archive ${damaged.id}\\.dump is 5 bytes, its manifest says \\d+ in ${t.store.url}\\)`));
      assert.match(message, new RegExp(`the newest complete one is ${intact.id} \\(manifest and sizes check out; its checksum is verified as it restores\\): restore it with \`pgkeeper restore ${intact.id} --target `));
      assert.equal(await failureShownInUi(env.client.workflow.getHandle(workflowId)), message, 'the UI shows the reason first');

      // Loud: one failure notification saying the same.
      assert.equal(notifications.length, 1);
      assert.equal(notifications[0]!.pgkeeper.outcome, 'failed');
      assert.equal(notifications[0]!.pgkeeper.operation, 'drill');
      assert.match(notifications[0]!.text, new RegExp(`drill of ${database} FAILED: .*${damaged.id}.*${intact.id}`));
      // Never silently proving the older backup instead.
      assert.equal(await t.store.getText(backupKeys(database, intact.id, []).drillProof), proofBefore);
      await t.store.delete(backupKeys(database, damaged.id, []).manifest);

      // Its damaged backup gone, status still needs attention: the last drill failed (a weekly drill
      // failing every week must not leave status green).
      const listing = await fetchListingWithWorker();
      await waitFor('the failed drill to be listed', async () => (await databaseStatus(env.client, t.config, listing, database)).lastDrill?.workflowId === workflowId);
      assert.equal((await databaseStatus(env.client, t.config, listing, database)).lastDrill?.outcome, 'failed');
      const text = await withWorker(env, t.config, () =>
        execa(`${ROOT}/bin/pgkeeper`, ['status', database], { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: t.config.temporal.taskQueue } }),
      );
      assert.equal(text.exitCode, 3, text.stdout + text.stderr);
      assert.match(text.stdout, new RegExp(`^${database}\\s.*\\sLAST DRILL FAILED$`, 'm'));
    });

    it('the drilled backup deleted by retention (its proof with it): status still names the last proven restore, as deleted since', async () => {
      const drilled = (await fetchListingWithWorker()).backups.find((b) => b.lastProvenAt !== null)!;
      const newer = await withWorker(env, t.config, () => runBackup(env, t.config, database));
      await withWorker(env, t.config, () => env.client.workflow.execute(applyRetention, { args: [{ database, policy: { keepLast: 1 } }], taskQueue: t.config.temporal.taskQueue, workflowId: uniqueName('prune') }));
      const listing = await fetchListingWithWorker();
      assert.deepEqual(listing.backups.map((b) => b.id), [newer.backupId]);
      const status = await databaseStatus(env.client, t.config, listing, database);
      assert.equal(status.lastProvenRestore?.backupId, drilled.id);
      assert.equal(status.lastProvenRestore?.deleted, true);
      assert.ok(status.lastProvenRestore!.at >= drilled.lastProvenAt!, 'the drill run ended after it wrote its proof');
      const text = await withWorker(env, t.config, () =>
        execa(`${ROOT}/bin/pgkeeper`, ['status', database], { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: t.config.temporal.taskQueue } }),
      );
      assert.match(text.stdout, new RegExp(`\\s${drilled.id} \\(since deleted\\)\\s`), text.stdout + text.stderr);
    });
  });
}
