/**
 * Retention on real stores (a directory and an S3 bucket): only complete backups count, the newest
 * complete backup of every store stays, pins keep a backup a restore is reading, and the sweep
 * removes what crashed runs left once it is a day old: never anything younger, never a foreign file.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { applyRetention } from '../activities/apply-retention.js';
import { listBackups } from '../activities/list-backups.js';
import { resolveBackup } from '../activities/resolve-backup.js';
import { openStore } from '../activities/store/open-stores.js';
import { backupKeys } from '../common/backup-keys.js';
import type { Config } from '../common/config.js';
import type { RetentionRequest, RetentionResult } from '../common/types.js';
import { backupDir, uniqueName } from './helpers/config.js';
import { writeFakeBackup, writeFakeBackupAt } from './helpers/fake-backups.js';
import { flipByte, keysUnder, STORE_KINDS, storeUnderTest, type StoreUnderTest } from './helpers/stores.js';
import { tempDir } from './helpers/temp-dirs.js';

const DAY = 86_400_000;

const retain = (config: Config, req: RetentionRequest): Promise<RetentionResult> => new MockActivityEnvironment().run(applyRetention, config, req) as Promise<RetentionResult>;

for (const kind of STORE_KINDS) {
  describe(`retention (${kind} store)`, () => {
    let t: StoreUnderTest;
    before(async () => {
      t = await storeUnderTest(kind, { RETENTION_DAYS: '7' });
    });
    after(async () => t?.stop());

    /** Ages an object on a local store (S3 cannot backdate; those tests say what they prove there). */
    const age = (key: string, days: number) => {
      if (kind !== 'file') return false;
      const when = new Date(Date.now() - days * DAY);
      utimesSync(path.join(backupDir(t.config), key), when, when);
      return true;
    };

    it('deletes only expired complete backups, keeps the newest, leaves foreign objects alone', async () => {
      const db = uniqueName('app');
      const fresh = await writeFakeBackup(t.store, db, 1);
      const expired = [await writeFakeBackup(t.store, db, 8), await writeFakeBackup(t.store, db, 30)];
      const foreign = [`${db}/README.txt`, `${db}/app_20250101_020000.dump`, `${db}/notes.manifest.json`];
      for (const key of foreign) await t.store.put(key, 'not a pgkeeper backup');
      const result = await retain(t.config, { database: db });
      assert.deepEqual(result.policy, { maxAgeDays: 7 });
      const [store] = result.stores;
      assert.equal(store!.store, t.store.url);
      assert.deepEqual([...store!.deleted].sort(), expired.map((m) => m.id).sort());
      assert.equal(store!.kept, 1);
      const keys = backupKeys(db, fresh.id, []);
      assert.deepEqual(await keysUnder(t.store, `${db}/`), [...foreign, keys.archive, keys.sidecar, keys.manifest].sort());
    });

    it('never deletes the newest complete backup, however old; a dry run deletes nothing', async () => {
      const db = uniqueName('old');
      const newest = await writeFakeBackup(t.store, db, 100);
      const older = await writeFakeBackup(t.store, db, 200);
      const planned = await retain(t.config, { database: db, dryRun: true });
      assert.deepEqual(planned.stores[0]!.deleted, []);
      assert.equal((await keysUnder(t.store, `${db}/`)).length, 6);
      const result = await retain(t.config, { database: db });
      assert.deepEqual(result.stores[0]!.deleted, [older.id]);
      assert.deepEqual(result.stores[0]!.plan.find((d) => d.id === newest.id)?.reasons, ['newest backup is always kept']);
    });

    it('a backup dated in the future (a clock that ran ahead, a key brought in): kept, counted by no rule, never "latest" while a backup dated up to now exists', async () => {
      const db = uniqueName('ahead');
      const older = await writeFakeBackup(t.store, db, 1);
      const fresh = await writeFakeBackup(t.store, db, 0);
      const ahead = await writeFakeBackupAt(t.store, db, Date.now() + 2 * DAY, 'aaaaaaaa');
      const result = await retain(t.config, { database: db, policy: { keepLast: 1 }, made: fresh.id });
      assert.deepEqual(result.stores[0]!.deleted, [older.id]);
      const decisions = Object.fromEntries(result.stores[0]!.plan.map((d) => [d.id, d.reasons]));
      assert.match(decisions[ahead.id]![0]!, /^dated in the future \(now is .*\): kept, and counted by no rule$/);
      assert.deepEqual(decisions[fresh.id], ['made by this run', 'newest backup is always kept', 'keepLast 1/1']);
      const latest = await resolveBackup(t.config, { backup: 'latest', database: db, target: `${db}_copy` });
      assert.equal(latest.label, fresh.id);
      assert.equal(
        latest.warnings[0],
        `${ahead.id} is dated in the future (a clock that ran ahead, or a key brought in), so "latest" is ${fresh.id}, the newest dated up to now; to restore ${ahead.id} instead: pgkeeper restore ${ahead.id} --target ${db}_copy --queue ${t.config.temporal.taskQueue}`,
      );
    });

    it('prune reads the newest backup back before deleting: one rotten in place (its size unchanged) is recorded DAMAGED, and the next newest is kept in its stead', async () => {
      const db = uniqueName('rot');
      const oldest = await writeFakeBackup(t.store, db, 3);
      const older = await writeFakeBackup(t.store, db, 2);
      const rotten = await writeFakeBackup(t.store, db, 1);
      await flipByte(t.store, backupKeys(db, rotten.id, []).archive);
      const planned = await retain(t.config, { database: db, policy: { keepLast: 1 }, dryRun: true });
      assert.deepEqual(planned.stores[0]!.plan.filter((d) => d.action === 'delete').map((d) => d.id).sort(), [oldest.id, older.id].sort(), 'a dry run reads nothing');
      const result = await retain(t.config, { database: db, policy: { keepLast: 1 } });
      assert.deepEqual(result.stores[0]!.deleted, [oldest.id]);
      assert.deepEqual(result.stores[0]!.plan.find((d) => d.id === older.id)?.reasons, ['newest backup is always kept', 'keepLast 1/1']);
      assert.deepEqual(result.stores[0]!.damaged.map((d) => d.id), [rotten.id]);
      assert.match(result.stores[0]!.damaged[0]!.reason, /^read back by retention: /);
      assert.ok(await t.store.stat(`${db}/${rotten.id}.damaged.json`), 'recorded, as verify would');
    });

    it('two backups started in one second: the one written later is the newest (listing, "latest", retention), whatever the random part of their ids', async () => {
      const db = uniqueName('twice');
      const second = Math.floor(Date.now() / 1000) * 1000 - 3 * DAY;
      // The random parts make the earlier backup's id sort after the later one's.
      const earlier = await writeFakeBackupAt(t.store, db, second + 100, 'ffffffff');
      const later = await writeFakeBackupAt(t.store, db, second + 900, '00000000');
      assert.deepEqual((await listBackups(t.config, { database: db })).backups.map((b) => b.id), [later.id, earlier.id]);
      assert.equal((await resolveBackup(t.config, { backup: 'latest', database: db })).label, later.id);
      const result = await retain(t.config, { database: db, policy: { keepLast: 1 } });
      assert.deepEqual(result.stores[0]!.deleted, [earlier.id]);
      assert.deepEqual((await keysUnder(t.store, `${db}/`)).filter((k) => k.endsWith('.manifest.json')), [`${db}/${later.id}.manifest.json`]);
    });

    it('a damaged backup (its archive gone) is never counted and never deleted: it stays for a person to see', async () => {
      const db = uniqueName('gone');
      const newest = await writeFakeBackup(t.store, db, 1);
      await t.store.delete(backupKeys(db, newest.id, []).archive);
      const old = await writeFakeBackup(t.store, db, 30);
      const result = await retain(t.config, { database: db });
      assert.deepEqual(result.stores[0]!.deleted, [], 'the old backup is the newest complete one, so it stays');
      assert.deepEqual(result.stores[0]!.plan.map((d) => d.id), [old.id]);
      assert.deepEqual(
        result.stores[0]!.damaged.map((d) => [d.id, d.reason]),
        [[newest.id, `archive ${backupKeys(db, newest.id, []).archive.slice(db.length + 1)} is missing`]],
        'reported, with the reason, for the plan to show',
      );
      assert.ok((await keysUnder(t.store, `${db}/`)).includes(backupKeys(db, newest.id, []).manifest), 'left for a human');
    });

    it('a backup damaged in its archive that the policy lets go even as if intact is deleted, saying why; one it would keep, or whose manifest is what is wrong, stays DAMAGED', async () => {
      const db = uniqueName('dmg_old');
      const fresh = await writeFakeBackup(t.store, db, 1);
      const [recent, old] = [await writeFakeBackup(t.store, db, 3), await writeFakeBackup(t.store, db, 30)];
      for (const b of [recent, old]) await t.store.delete(backupKeys(db, b.id, []).archive);
      // Unreadable, it may be another backup's only record: not this folder's to plan.
      const garbled = await writeFakeBackup(t.store, db, 40);
      await t.store.put(backupKeys(db, garbled.id, []).manifest, '{"manifestVersion": 2, "id": garbage');
      const missing = (id: string) => `archive ${backupKeys(db, id, []).archive.slice(db.length + 1)} is missing`;

      const planned = (await retain(t.config, { database: db, dryRun: true })).stores[0]!;
      assert.deepEqual(planned.deleted, [], 'a dry run deletes nothing');
      assert.deepEqual(
        planned.plan.map((d) => [d.id, d.action, d.reasons]),
        [
          [fresh.id, 'keep', ['newest backup is always kept', 'younger than 7 days']],
          [old.id, 'delete', [`DAMAGED (${missing(old.id)}), and past the policy as if intact: matches no rule of: maxAgeDays=7`]],
        ],
        JSON.stringify(planned.plan),
      );
      assert.deepEqual(planned.damaged.map((d) => d.id), [recent.id, garbled.id], 'left for a person');
      assert.equal(planned.damaged[0]!.reason, missing(recent.id));

      const done = (await retain(t.config, { database: db })).stores[0]!;
      assert.deepEqual(done.deleted, [old.id]);
      assert.equal(done.kept, 1, 'a damaged backup is never counted as kept');
      const left = await keysUnder(t.store, `${db}/`);
      assert.ok(!left.some((k) => k.includes(old.id)), `nothing of ${old.id} left: ${left.join(', ')}`);
      for (const kept of [recent, garbled]) assert.ok(left.includes(backupKeys(db, kept.id, []).manifest), `${kept.id} stays`);
    });

    it('a pin written after retention listed the store keeps the backup: one seen before its manifest goes, and one written just after (the manifest is put back)', async () => {
      const db = uniqueName('late_pin');
      await writeFakeBackup(t.store, db, 1);
      const before = await writeFakeBackup(t.store, db, 60); // pinned once retention has listed, before it deletes
      const after = await writeFakeBackup(t.store, db, 61); // pinned the moment its manifest is deleted
      const manifests = [before, after].map((b) => backupKeys(db, b.id, []).manifest);
      const manifestText = await t.store.getText(manifests[1]!);
      // The activity reads the same store object: a restore resolving at these moments is played here.
      const { list, delete: remove } = t.store;
      t.store.list = async (prefix) => {
        if (prefix === `${db}/${before.id}.pin.`) await t.store.put(backupKeys(db, before.id, []).pin('late-run'), '{}');
        return list.call(t.store, prefix);
      };
      t.store.delete = async (key) => {
        await remove.call(t.store, key);
        if (key === manifests[1]) await t.store.put(backupKeys(db, after.id, []).pin('racing-run'), '{}');
      };
      let result: RetentionResult;
      try {
        result = await retain(t.config, { database: db });
      } finally {
        Object.assign(t.store, { list, delete: remove });
      }
      assert.deepEqual(result.stores[0]!.deleted, []);
      for (const b of [before, after]) assert.deepEqual(result.stores[0]!.plan.find((d) => d.id === b.id)?.reasons, ['pinned: a restore or drill is reading it'], b.id);
      const left = await keysUnder(t.store, `${db}/`);
      for (const b of [before, after]) for (const key of [backupKeys(db, b.id, []).manifest, backupKeys(db, b.id, []).archive]) assert.ok(left.includes(key), `${key} kept`);
      assert.equal(await t.store.getText(manifests[1]!), manifestText, 'the manifest put back is the one deleted');
    });

    it('a restore that pins a backup after retention\'s last look refuses at once (it would lose its archive halfway through), and takes its pin back', async () => {
      const db = uniqueName('lost_pin');
      const backup = await writeFakeBackup(t.store, db, 60);
      const { put } = t.store;
      // Retention deletes the manifest the moment the pin is written, seeing no pin.
      t.store.put = async (key, body, options) => {
        const written = await put.call(t.store, key, body, options);
        if (key.includes('.pin.')) await t.store.delete(backupKeys(db, backup.id, []).manifest);
        return written;
      };
      try {
        await assert.rejects(new MockActivityEnvironment().run(resolveBackup, t.config, { backup: backup.id, database: db, pin: 'run-late' }), (err: ApplicationFailure) => {
          assert.equal(err.type, 'BackupNotFound');
          assert.match(err.message, new RegExp(`^${backup.id} was deleted from \\S+ \\(by retention, say\\) as this restore picked it; nothing was changed\\. Restore another backup`));
          return true;
        });
      } finally {
        t.store.put = put;
      }
      assert.deepEqual(await keysUnder(t.store, `${db}/${backup.id}.pin.`), [], 'the pin is taken back');
    });

    it('a backup pinned by a running restore is kept whatever the policy; a stale pin is swept and protects nothing', async () => {
      const db = uniqueName('pinned');
      await writeFakeBackup(t.store, db, 1);
      const pinned = await writeFakeBackup(t.store, db, 60);
      const pinKey = backupKeys(db, pinned.id, []).pin('run-1');
      await t.store.put(pinKey, '{}');
      const kept = await retain(t.config, { database: db });
      assert.deepEqual(kept.stores[0]!.deleted, []);
      assert.deepEqual(kept.stores[0]!.plan.find((d) => d.id === pinned.id)?.reasons, ['pinned: a restore or drill is reading it']);
      if (age(pinKey, 4)) {
        const swept = await retain(t.config, { database: db });
        assert.deepEqual(swept.stores[0]!.deleted, [pinned.id], 'a stale pin no longer protects the backup');
        assert.ok(!(await keysUnder(t.store, `${db}/`)).includes(pinKey), 'the pin went with its backup');
        assert.ok(!swept.stores[0]!.swept.includes(pinKey), 'and is not reported swept as well');
      }
    });

    it('leftovers of crashed runs (an archive without manifest, facts) are swept once a day old, never younger', async () => {
      const db = uniqueName('crashed');
      await writeFakeBackup(t.store, db, 1);
      const orphan = await writeFakeBackup(t.store, db, 3);
      const young = await writeFakeBackup(t.store, db, 2, 'aaaaaaaa');
      for (const m of [orphan, young]) await t.store.delete(backupKeys(db, m.id, []).manifest); // died between rename and manifest
      const result = await retain(t.config, { database: db });
      const left = await keysUnder(t.store, `${db}/`);
      assert.ok(left.includes(backupKeys(db, young.id, []).archive), 'a leftover younger than a day may be a run still going');
      if (age(backupKeys(db, orphan.id, []).archive, 2) && age(backupKeys(db, orphan.id, []).sidecar, 2)) {
        // A dry run names what the sweep would remove, and why; it removes nothing.
        const unfinished = `${db}/${orphan.id}.dump.zst.0123456789ab.partial`;
        writeFileSync(path.join(backupDir(t.config), unfinished), 'half an archive');
        age(unfinished, 2);
        // Another database's run, as old: not this retention's to judge (it may still be going).
        const foreign = `${uniqueName('crashed_other')}/x-20260101T000000Z-0123abcd.dump.zst.0123456789ab.partial`;
        mkdirSync(path.join(backupDir(t.config), path.dirname(foreign)));
        writeFileSync(path.join(backupDir(t.config), foreign), 'half of another database');
        age(foreign, 2);
        const planned = await retain(t.config, { database: db, dryRun: true });
        const reason = `backup ${orphan.id} never got its manifest (its run did not finish), is over a day old, and a complete backup is newer`;
        const orphanKeys = [backupKeys(db, orphan.id, []).archive, backupKeys(db, orphan.id, []).sidecar].sort();
        const expected = [...orphanKeys.map((key) => [key, reason]), [unfinished, 'an unfinished write left by a crash, over a day old']].sort();
        assert.deepEqual(planned.stores[0]!.leftovers?.map((l) => [l.key, l.reason]).sort(), expected);
        assert.deepEqual(planned.stores[0]!.swept, []);
        assert.ok(existsSync(path.join(backupDir(t.config), unfinished)) && (await keysUnder(t.store, `${db}/`)).includes(orphanKeys[0]!), 'a dry run removes nothing');
        const swept = await retain(t.config, { database: db });
        assert.deepEqual(swept.stores[0]!.swept.sort(), [...orphanKeys, unfinished].sort());
        assert.deepEqual(swept.stores[0]!.leftovers?.map((l) => [l.key, l.reason]).sort(), expected);
        assert.ok(!existsSync(path.join(backupDir(t.config), unfinished)));
        assert.ok(existsSync(path.join(backupDir(t.config), foreign)), 'another database\'s unfinished write is left alone');
        rmSync(path.join(backupDir(t.config), path.dirname(foreign)), { recursive: true });
        assert.ok(!(await keysUnder(t.store, `${db}/`)).includes(backupKeys(db, orphan.id, []).archive));
      } else {
        assert.deepEqual(result.stores[0]!.swept, [], 'objects written a moment ago are never swept');
      }
    });

    it('an archive whose manifest went missing is never swept while no complete backup is newer: it may be the newest data there is', async () => {
      const db = uniqueName('lone');
      const complete = await writeFakeBackup(t.store, db, 5);
      const lone = await writeFakeBackup(t.store, db, 3);
      const keys = backupKeys(db, lone.id, []);
      await t.store.delete(keys.manifest);
      const aged = age(keys.archive, 3) && age(keys.sidecar, 3);
      const result = await retain(t.config, { database: db });
      assert.deepEqual(result.stores[0]!.swept, []);
      assert.deepEqual(result.stores[0]!.deleted, []);
      assert.ok((await keysUnder(t.store, `${db}/`)).includes(keys.archive), `kept${aged ? ', three days old' : ''}`);
      assert.deepEqual(result.stores[0]!.plan.map((d) => [d.id, d.action]), [[complete.id, 'keep']]);
    });
  });
}

describe('retention on a primary store and a copy store', () => {
  it('runs on every store; the newest complete backup of each store stays, even when the stores differ', async () => {
    const copyDir = tempDir('copy');
    const t = await storeUnderTest('file', { BACKUP_COPIES: `file://${copyDir}`, RETENTION_DAYS: '7' });
    const copy = openStore(t.config.stores.copies[0]!);
    const db = uniqueName('both');
    await writeFakeBackup(t.store, db, 1); // only on the primary (its copy failed)
    const old = await writeFakeBackup(t.store, db, 40);
    await writeFakeBackup(copy, db, 40, old.id.slice(-8));
    const result = await retain(t.config, { database: db });
    assert.deepEqual(result.stores.map((s) => s.store), [t.store.url, copy.url]);
    assert.deepEqual(result.stores[0]!.deleted, [old.id], 'the primary has a newer backup');
    assert.deepEqual(result.stores[1]!.deleted, [], 'on the copy store the old backup is the newest it has');
  });
});

describe('retention over thousands of backups', () => {
  it('its result stays bounded (Temporal refuses one over 2 MB): the newest kept and the deletions listed first, the rest counted', async () => {
    const t = await storeUnderTest('file');
    const db = uniqueName('many');
    const startMs = Date.now();
    for (let i = 0; i < 1_150; i++) await writeFakeBackupAt(t.store, db, startMs - (1 + i) * 3_600_000, `${i}`.padStart(8, '0'));
    const plan = (await retain(t.config, { database: db, policy: { keepLast: 100 }, dryRun: true })).stores[0]!;
    assert.deepEqual([plan.plan.length, plan.planNotListed], [1_000, { keep: 0, delete: 150 }]);
    assert.deepEqual(
      plan.plan.slice(0, 101).map((d) => d.action),
      [...Array<string>(100).fill('keep'), 'delete'],
      'the newest kept (what survives), then the deletions, newest first',
    );
    assert.equal(plan.kept, 100);

    const applied = (await retain(t.config, { database: db, policy: { keepLast: 100 } })).stores[0]!;
    assert.deepEqual([applied.deleted.length, applied.deletedNotListed, applied.kept], [1_000, 50, 100]);
    assert.equal((await keysUnder(t.store, `${db}/`)).filter((k) => k.endsWith('.manifest.json')).length, 100, 'all 1,050 deleted, though 1,000 are listed');
    const again = (await retain(t.config, { database: db, policy: { keepLast: 100 }, dryRun: true })).stores[0]!;
    assert.deepEqual([again.plan.length, again.planNotListed], [100, undefined]);
  });
});
