/**
 * The posix driver of the storage seam on a real file system: objects appear whole or not at all,
 * an aborted write leaves nothing listed, keys and links never leave the root, the sweep removes
 * only old unfinished writes.
 */
import assert from 'node:assert/strict';
import { promises as fs, mkdirSync, mkdtempSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { openPosixStore } from '../activities/store/posix-store.js';

describe('posix store', () => {
  const parent = mkdtempSync(path.join(os.tmpdir(), 'pgkeeper-posix-'));
  const root = path.join(parent, 'store');
  mkdirSync(root); // a store's directory is made by a person
  const store = openPosixStore(root);
  after(async () => fs.rm(parent, { recursive: true, force: true }));

  it('round trip, stat, list, listFolders, delete: keys relative to the root', async () => {
    await store.check();
    assert.deepEqual(await store.put('app/a.dump', Readable.from([Buffer.from('hello '), Buffer.from('world')])), { sizeBytes: 11 });
    await store.put('app/a.manifest.json', '{}');
    await store.put('.globals/g.sql', Buffer.from('roles'));
    assert.equal(await store.getText('app/a.dump'), 'hello world');
    assert.equal(await store.getText('app/missing.json'), undefined);
    assert.equal((await store.stat('app/a.dump'))?.sizeBytes, 11);
    assert.equal(await store.stat('app/missing'), undefined);
    assert.deepEqual((await store.list('app/')).map((o) => o.key).sort(), ['app/a.dump', 'app/a.manifest.json']);
    assert.deepEqual((await store.listFolders('')).sort(), ['.globals', 'app']);
    await store.delete('app/a.dump');
    await store.delete('app/a.dump'); // idempotent
    assert.deepEqual((await store.list('app/')).map((o) => o.key), ['app/a.manifest.json']);
    await assert.rejects(store.get('app/a.dump'), (err: ApplicationFailure) => err.type === 'BackupNotFound');
  });

  it('a folder not there holds nothing; a root not there (a disk not mounted) is a store not answering, not an empty one, and is not made again by a write', async () => {
    const away = openPosixStore(path.join(parent, 'unmounted'));
    // A configured root is made by a person: made by the start-up check, it could be an unmounted disk's mount point.
    await assert.rejects(away.check(), (err: ApplicationFailure) => err.type === 'StoreUnavailable' && err.message.includes(`make it (mkdir -p ${path.join(parent, 'unmounted')})`));
    assert.equal(await fs.stat(path.join(parent, 'unmounted')).catch(() => 'not there'), 'not there');
    // The default store's root (BACKUP_DIR unset) is the worker's own, made by its start-up check; nothing else makes one.
    await openPosixStore(path.join(parent, 'unmounted'), 'BACKUP_DIR', { makeRoot: true }).check();
    await away.put('app/a.dump', 'x');
    assert.deepEqual(await away.list('other/'), []);
    assert.equal(await away.stat('app/gone.dump'), undefined);
    await fs.rm(path.join(parent, 'unmounted'), { recursive: true });
    // Reading, looking and writing alike: a write must not make the root again (backups under an unmounted disk's mount point, the others hidden).
    for (const asking of [() => away.list('app/'), () => away.listFolders(''), () => away.stat('app/a.dump'), () => away.getText('app/a.dump'), () => away.get('app/a.dump'), () => away.put('app/b.dump', 'y')]) {
      await assert.rejects(asking(), (err: ApplicationFailure) => {
        assert.equal(err.type, 'StoreUnavailable');
        assert.equal(
          err.message,
          `${away.url} is not there (${path.join(parent, 'unmounted')} is no directory: a disk not mounted, a path moved, or not made yet?); mount it, make it (mkdir -p ${path.join(parent, 'unmounted')}), or change BACKUP_STORE/BACKUP_DIR`,
        );
        return true;
      });
    }
    assert.equal(await fs.stat(path.join(parent, 'unmounted')).catch(() => 'not there'), 'not there');
  });

  it('a root that goes away while a folder is listed fails the listing; it never comes back short', async () => {
    const moving = path.join(parent, 'moving');
    await fs.mkdir(path.join(moving, 'app'), { recursive: true });
    await Promise.all(Array.from({ length: 200 }, (_, i) => fs.writeFile(path.join(moving, `app/f${i}.dump`), '')));
    // Moved by the first look at a file: after the folder was read, before its files were looked at.
    const realStat = fs.stat;
    let moved = false;
    fs.stat = (async (...args: Parameters<typeof realStat>) => {
      if (!moved && String(args[0]).startsWith(path.join(moving, 'app'))) {
        moved = true;
        await fs.rename(moving, `${moving}-away`);
      }
      return realStat(...args);
    }) as typeof realStat;
    try {
      await assert.rejects(openPosixStore(moving).list('app/'), (err: ApplicationFailure) => err.type === 'StoreUnavailable');
      assert.ok(moved, 'the root was moved mid-listing');
    } finally {
      fs.stat = realStat;
    }
  });

  it('an object is invisible while written and after an aborted write', async () => {
    const body = new PassThrough();
    const controller = new AbortController();
    const writing = store.put('app/big.dump', body, { signal: controller.signal });
    body.write(Buffer.alloc(1 << 20));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await store.stat('app/big.dump'), undefined, 'not visible while being written');
    assert.ok(!(await store.list('app/')).some((o) => o.key.startsWith('app/big')), 'not listed while being written');
    controller.abort();
    await assert.rejects(writing);
    assert.ok(!(await fs.readdir(path.join(root, 'app'))).some((f) => f.startsWith('big')), 'nothing left on disk');
  });

  it('keys that name anything outside the store, and links that lead out, are refused', async () => {
    for (const key of ['../x', 'app/../../x', '/etc/passwd', 'app//a', 'app/./a', 'a\\b', '']) {
      await assert.rejects(store.put(key, 'x'), (err: ApplicationFailure) => err.type === 'InvalidInput', key);
      await assert.rejects(store.get(key), (err: ApplicationFailure) => err.type === 'InvalidInput', key);
    }
    await fs.writeFile(path.join(parent, 'secret.dump'), 'PGDMP');
    await fs.symlink(path.join(parent, 'secret.dump'), path.join(root, 'app', 'link.dump'));
    await assert.rejects(store.get('app/link.dump'), (err: ApplicationFailure) => err.type === 'InvalidInput' && /outside the store/.test(err.message));
  });

  it('the sweep removes unfinished writes older than asked, and nothing else', async () => {
    const old = path.join(root, 'app', 'x.dump.0123456789ab.partial');
    const fresh = path.join(root, 'app', 'y.dump.0123456789ab.partial');
    await fs.writeFile(old, 'half');
    await fs.writeFile(fresh, 'half');
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    assert.deepEqual(await store.sweepUnfinished(86_400_000, '', { dryRun: true }), ['app/x.dump.0123456789ab.partial']);
    assert.ok(await fs.stat(old), 'a dry run names it and leaves it');
    assert.deepEqual(await store.sweepUnfinished(86_400_000), ['app/x.dump.0123456789ab.partial']);
    await assert.rejects(fs.stat(old));
    assert.ok(await fs.stat(fresh));
    assert.ok(await store.stat('app/a.manifest.json'), 'complete objects untouched');
  });

  it('a store the worker may not write fails with one line naming the fix', async () => {
    await fs.writeFile(path.join(parent, 'a-file'), '');
    const impossible = openPosixStore(path.join(parent, 'a-file', 'store'));
    await assert.rejects(impossible.check(), (err: ApplicationFailure) => err.type === 'StoreMissing' && /ENOTDIR.*point BACKUP_STORE\/BACKUP_DIR at one the worker can write/.test(err.message));
    // A file where the directory belongs (BACKUP_DIR=/srv/backups.tar): refused at start, not "not there" at every backup.
    await assert.rejects(openPosixStore(path.join(parent, 'a-file')).check(), (err: ApplicationFailure) => err.type === 'StoreMissing' && /ENOTDIR/.test(err.message));
    // A write that fails before reading its body ends the body: whoever feeds it (a copy run reading
    // the primary) is not left waiting for ever.
    const body = new PassThrough();
    await assert.rejects(impossible.put('app/x.dump', body));
    assert.equal(body.destroyed, true);
  });
});
