import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { applyRetention } from '../activities/apply-retention.js';
import { backupPaths } from '../activities/backup-store.js';
import { makeBackupId } from '../common/backup-id.js';
import { testConfig } from './helpers/config.js';

const DAY = 86_400_000;
const NOW = Date.now();

/** Writes the three files of a complete backup whose dump started `ageDays` ago. */
async function fakeBackup(backupDir: string, database: string, ageDays: number, complete = true): Promise<string> {
  const startedMs = NOW - ageDays * DAY;
  const id = makeBackupId(database, startedMs, Math.floor(ageDays * 1e6).toString(16).padStart(8, '0'));
  const paths = backupPaths(backupDir, database, id);
  await fs.mkdir(paths.dir, { recursive: true });
  await fs.writeFile(paths.dump, 'PGDMP');
  await fs.writeFile(paths.checksum, `x  ${id}.dump\n`);
  if (complete) await fs.writeFile(paths.manifest, JSON.stringify({ id, database, startedAt: new Date(startedMs).toISOString() }));
  return id;
}

describe('retention (RETENTION_DAYS on real files)', () => {
  it('deletes only expired complete backups, keeps the newest, and ignores foreign files', async () => {
    const config = testConfig({ RETENTION_DAYS: '7' });
    const db = 'app';
    const fresh = await fakeBackup(config.backupDir, db, 1);
    const expired = [await fakeBackup(config.backupDir, db, 8), await fakeBackup(config.backupDir, db, 30)];
    const incompleteOld = await fakeBackup(config.backupDir, db, 40, false);
    const dir = path.join(config.backupDir, db);
    const foreign = ['README.txt', 'app_20250101_020000.dump', 'notes.manifest.json'];
    for (const name of foreign) await fs.writeFile(path.join(dir, name), 'not a pgkeeper backup');
    const oldFile = new Date(NOW - 40 * DAY);
    for (const name of foreign) await fs.utimes(path.join(dir, name), oldFile, oldFile);
    await fs.writeFile(path.join(dir, 'stale.dump.partial'), 'crashed');
    await fs.utimes(path.join(dir, 'stale.dump.partial'), new Date(NOW - 2 * DAY), new Date(NOW - 2 * DAY));
    await fs.writeFile(path.join(dir, 'running.dump.partial'), 'being written right now');

    const result = await applyRetention(config, { database: db });

    assert.deepEqual(result.policy, { maxAgeDays: 7 });
    assert.deepEqual([...result.deleted].sort(), [...expired].sort());
    assert.equal(result.kept, 1);
    assert.deepEqual(result.removedPartials, ['stale.dump.partial']);
    const left = (await fs.readdir(dir)).sort();
    assert.deepEqual(
      left,
      [
        ...foreign,
        `${fresh}.dump`,
        `${fresh}.dump.sha256`,
        `${fresh}.manifest.json`,
        // without a manifest it is not a complete backup: retention neither counts nor deletes it
        `${incompleteOld}.dump`,
        `${incompleteOld}.dump.sha256`,
        'running.dump.partial',
      ].sort(),
    );
  });

  it('never deletes the newest complete backup, however old', async () => {
    const config = testConfig({ RETENTION_DAYS: '7' });
    const newest = await fakeBackup(config.backupDir, 'old', 100);
    const older = await fakeBackup(config.backupDir, 'old', 200);
    const result = await applyRetention(config, { database: 'old' });
    assert.deepEqual(result.deleted, [older]);
    assert.deepEqual(result.plan.find((d) => d.id === newest)?.reasons, ['newest backup is always kept']);
    assert.ok((await fs.readdir(path.join(config.backupDir, 'old'))).includes(`${newest}.manifest.json`));
  });

  it('a dry run plans but deletes nothing', async () => {
    const config = testConfig();
    await fakeBackup(config.backupDir, 'dry', 1);
    await fakeBackup(config.backupDir, 'dry', 50);
    const result = await applyRetention(config, { database: 'dry', dryRun: true });
    assert.equal(result.plan.filter((d) => d.action === 'delete').length, 1);
    assert.deepEqual(result.deleted, []);
    assert.equal((await fs.readdir(path.join(config.backupDir, 'dry'))).length, 6);
  });

  it('a manifest whose archive is gone is not a complete backup: never counted, never deleted', async () => {
    const config = testConfig({ RETENTION_DAYS: '7' });
    const newest = await fakeBackup(config.backupDir, 'gone', 1);
    await fs.rm(path.join(config.backupDir, 'gone', `${newest}.dump`));
    const old = await fakeBackup(config.backupDir, 'gone', 30);
    const result = await applyRetention(config, { database: 'gone' });
    assert.deepEqual(result.deleted, [], 'the old backup is the newest complete one, so it stays');
    assert.deepEqual(result.plan.map((d) => d.id), [old]);
    assert.ok((await fs.readdir(path.join(config.backupDir, 'gone'))).includes(`${newest}.manifest.json`), 'left for a human');
  });
});
