/**
 * The damage record on a real file system: written only when the stored bytes, read again, are not
 * those the manifest recorded (a filter failing on intact bytes is no damage of the store's), and
 * holding only while the archive is the one found damaged (same size and modification time). End to end (a restore falling back to a copy,
 * status, the copy run mending a copy): copies.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { damageReason, recordProvenDamage, type ArchiveExpected } from '../activities/store/damage-record.js';
import { openPosixStore } from '../activities/store/posix-store.js';

describe('damage record', () => {
  const parent = mkdtempSync(path.join(os.tmpdir(), 'pgkeeper-damage-'));
  const store = openPosixStore(path.join(parent, 'store'));
  before(() => fs.mkdir(path.join(parent, 'store'))); // a store's directory is made by a person
  after(async () => fs.rm(parent, { recursive: true, force: true }));

  const id = 'app-20261206T100000Z-0123abcd';
  const bytes = Buffer.from('an archive, as it was written');
  const archive: ArchiveExpected = { folder: 'app', id, archiveKey: `app/${id}.dump.zst`, sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  const run = { workflowId: 'restore-app-1', runId: 'r1' };
  const record = `app/${id}.damaged.json`;
  const reasonNow = async () => {
    const objects = await store.list('app/');
    return damageReason(store, objects, objects.find((o) => o.key === archive.archiveKey)!);
  };

  it('records nothing when the stored bytes are those the manifest recorded', async () => {
    await store.put(archive.archiveKey, bytes);
    assert.deepEqual(await recordProvenDamage(store, archive, run, new AbortController().signal), { verdict: 'intact', warnings: [] });
    assert.equal(await store.stat(record), undefined);
    assert.equal(await reasonNow(), undefined);
  });

  it('records bytes that differ, with what they read back as; the record lapses once the archive is another', async () => {
    const damaged = Buffer.from(bytes);
    damaged[3]! ^= 0xff;
    await store.put(archive.archiveKey, damaged);
    const found = await recordProvenDamage(store, archive, run, new AbortController().signal);
    assert.equal(found.verdict, 'damaged');
    assert.deepEqual(found.warnings, [
      `${id} is recorded as DAMAGED in ${store.url} (${record}), so \`pgkeeper status\` reports it until its archive there is written again (the next copy run does that for a copy store)`,
    ]);
    const written = JSON.parse((await store.getText(record))!) as Record<string, unknown>;
    assert.deepEqual([written.archive, written.by], [`${id}.dump.zst`, run]);
    const actual = createHash('sha256').update(damaged).digest('hex');
    assert.match(
      (await reasonNow()) ?? '',
      new RegExp(`^archive read back damaged on \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC by restore-app-1: it reads back as ${bytes.length} bytes, sha256 ${actual.slice(0, 16)}…; its manifest says ${bytes.length} bytes, ${archive.sha256.slice(0, 16)}…$`),
    );

    // Read again (a weekly verify): the first finding stands, when and by which run.
    await setTimeout(5);
    const again = await recordProvenDamage(store, archive, { workflowId: 'verify-2', runId: 'r2' }, new AbortController().signal);
    assert.deepEqual(again, { verdict: 'damaged', reason: found.verdict === 'damaged' ? found.reason : '', warnings: [] });
    assert.deepEqual(JSON.parse((await store.getText(record))!), written);

    // Mended by `cp -p` from an intact copy: the bytes and the copy's older modification time.
    const file = path.join(parent, 'store', archive.archiveKey);
    await fs.writeFile(file, bytes);
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await fs.utimes(file, anHourAgo, anHourAgo);
    assert.equal(await reasonNow(), undefined);
  });

  it('bytes written again while they were read (a copy run mending them) are "changed": nothing recorded, nothing judged', async () => {
    await fs.rm(path.join(parent, 'store', record), { force: true });
    const damaged = Buffer.from(bytes);
    damaged[5]! ^= 0xff;
    await store.put(archive.archiveKey, damaged);
    // The mend lands after the damaged bytes were read, before the look at the archive that follows the read.
    let looks = 0;
    const mending = {
      ...store,
      statAsListed: async (key: string) => {
        if (++looks === 2) {
          const file = path.join(parent, 'store', archive.archiveKey);
          await fs.writeFile(file, bytes);
          await fs.utimes(file, new Date(), new Date(Date.now() + 5_000)); // another version, however fast the read
        }
        return store.statAsListed(key);
      },
    };
    assert.deepEqual(await recordProvenDamage(mending, archive, run, new AbortController().signal), { verdict: 'changed', warnings: [] });
    assert.equal(await store.stat(record), undefined);
  });

  it('a record that cannot be read still says the archive was found damaged, unless the archive is newer', async () => {
    await store.put(archive.archiveKey, bytes);
    await setTimeout(20);
    await store.put(record, 'not json');
    assert.equal(await reasonNow(), `a read found its archive damaged (${record}, unreadable)`);
    await setTimeout(20);
    await store.put(archive.archiveKey, bytes);
    assert.equal(await reasonNow(), undefined);
  });

  it('a cancelled re-read is the cancellation, not a warning', async () => {
    const cancelled = new AbortController();
    cancelled.abort();
    await assert.rejects(recordProvenDamage(store, archive, run, cancelled.signal), { name: 'AbortError' });
  });
});
