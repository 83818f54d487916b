/**
 * The listing in pages (common/listing-pages.ts): Temporal refuses a result over 2 MB, and a store
 * of a few thousand backups lists to more. Paged through at any size, the pages join to exactly
 * the listing in one; a backup made or deleted between two pages moves no other; and `pgkeeper
 * backups` and `status` over a store whose listing is several pages show every backup once.
 */
import assert from 'node:assert/strict';
import { mkdirSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { listBackups } from '../activities/list-backups.js';
import { groupFolder, judgeGroups } from '../activities/store/backup-catalog.js';
import { openStore } from '../activities/store/open-stores.js';
import { backupKeys, GLOBALS_FOLDER } from '../common/backup-keys.js';
import type { Config } from '../common/config.js';
import type { BackupManifest } from '../common/manifest.js';
import { InputError } from '../common/errors.js';
import { joinListingPages, LISTING_PAGE_BYTES, validateListingCursor } from '../common/listing-pages.js';
import type { BackupListing, ListingCursor } from '../common/types.js';
import { backupDir, testConfig, uniqueName } from './helpers/config.js';
import { writeFakeBackupAt, writeFakeGlobals } from './helpers/fake-backups.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOUR_MS = 3_600_000;

/** Every page of a listing, asked with `pageBytes` a page. */
async function allPages(config: Config, req: { database?: string }, pageBytes: number): Promise<BackupListing[]> {
  const pages: BackupListing[] = [];
  let from: ListingCursor | null | undefined;
  do {
    pages.push(await listBackups(config, { ...req, ...(from ? { from } : {}) }, pageBytes));
    from = pages.at(-1)!.next;
  } while (from);
  return pages;
}

/** `count` backups of `database`, an hour apart, the newest `newestAgoHours` ago. */
async function writeBackups(config: Config, database: string, count: number): Promise<BackupManifest[]> {
  const store = openStore(config.stores.primary);
  const startMs = Date.now();
  const written: BackupManifest[] = [];
  for (let i = 0; i < count; i++) written.push(await writeFakeBackupAt(store, database, startMs - (1 + i) * HOUR_MS, `${i}`.padStart(8, '0')));
  return written;
}

const ids = (manifests: BackupManifest[]) => manifests.map((m) => m.id);

const recordsOf = (page: BackupListing) => [...page.backups, ...page.globals];

describe('the listing in pages', () => {
  it('paged at any size, the pages join to the listing in one: every backup once, in order, across databases, globals and stores; no page over its size unless one backup is', async () => {
    const copyDir = path.join(tempDir('copy'), 'copies');
    mkdirSync(copyDir);
    const config = testConfig({ BACKUP_COPIES: `file://${copyDir}` });
    const copy = openStore(config.stores.copies[0]!);
    const [a, b, c] = ['pgk_pages_a', 'pgk_pages_b', 'pgk_pages_c'];
    const aBackups = await writeBackups(config, a, 12);
    const aIds = ids(aBackups);
    await writeBackups(config, b, 1);
    await writeBackups(config, c, 7);
    for (const i of [0, 3, 4]) await writeFakeBackupAt(copy, a, Date.parse(aBackups[i]!.startedAt), `${i}`.padStart(8, '0')); // copies of three of a's
    const store = openStore(config.stores.primary);
    truncateSync(path.join(backupDir(config), backupKeys(a, aIds[3]!, []).archive), 3); // damaged here, whole in the copy
    for (const days of [1, 2, 3]) await writeFakeGlobals(store, days);

    const whole = await listBackups(config, {}, Number.POSITIVE_INFINITY);
    assert.equal(whole.next, null);
    assert.equal(whole.backups.length, 20);
    assert.equal(whole.globals.length, 3);
    assert.deepEqual(
      whole.backups.find((x) => x.id === aIds[3])?.locations.map((l) => [l.store, l.status]),
      [
        [store.url, 'damaged'],
        [copy.url, 'complete'],
      ],
    );
    const { next: _, ...expected } = whole;
    for (const pageBytes of [1, 900, 2_500, 6_000]) {
      const pages = await allPages(config, {}, pageBytes);
      assert.deepEqual(joinListingPages(pages), expected, `pages of ${pageBytes} bytes`);
      for (const page of pages) {
        const records = recordsOf(page);
        assert.ok(records.length > 0, 'no empty page');
        if (records.length > 1) assert.ok(records.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r)), 0) <= pageBytes, `a page of ${pageBytes} bytes holds ${JSON.stringify(records).length}`);
      }
      if (pageBytes === 1) assert.equal(pages.length, 23, 'one backup a page');
    }

    const one = await allPages(config, { database: a }, 900);
    assert.ok(one.length > 2);
    assert.deepEqual(
      joinListingPages(one).backups,
      whole.backups.filter((x) => x.database === a),
    );
    assert.ok(one.every((p) => p.globals.length === 0));
  });

  it('a backup made or deleted between two pages moves no other; a folder gone by the next page is skipped', async () => {
    const config = testConfig();
    const store = openStore(config.stores.primary);
    const [a, b, c] = ['pgk_moves_a', 'pgk_moves_b', 'pgk_moves_c'];
    const aIds = ids(await writeBackups(config, a, 6));
    const bIds = ids(await writeBackups(config, b, 2));
    const cIds = ids(await writeBackups(config, c, 3));
    const first = await listBackups(config, { database: undefined }, 1_200);
    const shown = first.backups.map((x) => x.id);
    assert.ok(first.next?.folder === a && shown.length > 0 && shown.length < 6, `the first page ends inside ${a}: ${JSON.stringify(first.next)}`);
    // Retention deletes the oldest of a (not shown yet: a page goes newest first) and one shown;
    // a backup run adds one to a (newer than the page's end: it is not in this listing) and one to c.
    const [newest, oldest] = [aIds[0]!, aIds.at(-1)!];
    assert.deepEqual([shown.includes(newest), shown.includes(oldest)], [true, false]);
    for (const id of [oldest, newest]) for (const object of await store.list(`${a}/${id}`)) await store.delete(object.key);
    await writeFakeBackupAt(store, a, Date.now(), 'ffffffff');
    const newInC = (await writeFakeBackupAt(store, c, Date.now(), 'eeeeeeee')).id;
    const rest: BackupListing[] = [];
    for (let from: ListingCursor | null | undefined = first.next; from; from = rest.at(-1)!.next) rest.push(await listBackups(config, { from }, 1_200));
    const listed = joinListingPages([first, ...rest]).backups.map((x) => x.id);
    assert.deepEqual([...listed].sort(), [...aIds.filter((id) => id !== oldest), ...bIds, ...cIds, newInC].sort());

    // The cursor's folder emptied meanwhile: the page starts at the next one that sorts after it.
    const fromGone = await listBackups(config, { from: { folder: 'pgk_moves_b0', after: 'pgk_moves_b0-20260101T000000Z-00000000' } }, Number.POSITIVE_INFINITY);
    assert.deepEqual(fromGone.backups.map((x) => x.database).sort(), [c, c, c, c]);
    assert.equal((await listBackups(config, { from: { folder: GLOBALS_FOLDER } }, Number.POSITIVE_INFINITY)).backups.length, 0);
  });

  it('a manifest of megabytes is one DAMAGED backup with a reason of a line, not a listing too large to return; one deleted while it is listed is no backup', async () => {
    const config = testConfig();
    const store = openStore(config.stores.primary);
    const db = 'pgk_pages_hostile';
    const [huge, gone, fine] = await writeBackups(config, db, 3);
    for (const [field, value] of [['manifestVersion', 'V'.repeat(3e6)], ['compression', 'z'.repeat(3e6)]] as const) {
      await store.put(`${db}/${huge!.id}.manifest.json`, JSON.stringify({ ...huge, [field]: value }));
      const listing = await listBackups(config, { database: db });
      const listed = listing.backups.find((x) => x.id === huge!.id)!;
      assert.equal(listed.status, 'damaged');
      assert.ok(JSON.stringify(listing).length < 10_000, `${field}: ${JSON.stringify(listing).length} bytes`);
      assert.match(listed.locations[0]!.reason!, new RegExp(`^manifest unreadable: (unknown manifestVersion|compression) "[VZz]{60}"… \\(3000000 characters\\)`, 'i'));
    }

    // Retention deletes a backup's manifest first, between the listing of the folder and the reading of its manifests.
    const groups = await groupFolder(store, db);
    await store.delete(`${db}/${gone!.id}.manifest.json`);
    const judged = await judgeGroups(store, db, groups);
    assert.deepEqual(
      judged.filter((e) => e.id !== huge!.id).map((e) => [e.id, e.status]),
      [
        [fine!.id, 'complete'],
        [gone!.id, 'partial'],
      ].sort((a, b) => (a[0]! < b[0]! ? 1 : -1)),
    );
  });

  it('a cursor that is not one a listing gave is refused, naming the field and the fix', () => {
    const refused = (cursor: unknown, database: string | undefined, pattern: RegExp) => assert.throws(() => validateListingCursor(cursor, database), (err: Error) => err instanceof InputError && pattern.test(err.message));
    refused('app', undefined, /^"from" takes one object, e\.g\. \{"folder": "app", "after": .*as a listing's "next" gives it; got "app"$/);
    refused({ folder: 'app', afterr: 'x' }, undefined, /^unknown field "afterr" in the input of "from"; did you mean "after"\?$/);
    refused({ folder: 'other' }, 'app', /^from\.folder is "other", but this listing is of database "app": pass the "next" of a listing of "app"$/);
    refused({ folder: 'app', after: 'other-20261124T020000Z-1a2b3c4d' }, undefined, /^from\.after must be the id of a backup in folder "app"/);
    refused({ folder: GLOBALS_FOLDER, after: 'app-20261124T020000Z-1a2b3c4d' }, undefined, /^from\.after must be the id of a backup in folder "\.globals"/);
    refused({ after: 'app-20261124T020000Z-1a2b3c4d' }, undefined, /^from\.folder is required/);
    assert.deepEqual(validateListingCursor({ folder: GLOBALS_FOLDER, after: 'globals-20261124T020000Z-1a2b3c4d' }, undefined), { folder: GLOBALS_FOLDER, after: 'globals-20261124T020000Z-1a2b3c4d' });
    assert.deepEqual(validateListingCursor({ folder: 'app', after: null }, 'app'), { folder: 'app' });
  });

  describe('from the command line', () => {
    let env: TestWorkflowEnvironment;
    before(async () => {
      env = await startDevServer();
    });
    after(async () => {
      await env?.teardown();
    });

    it('backups and status over a store whose listing takes several pages: every backup once, newest first, whole through a pipe (quiet into one closed early, one line into a full disk); the first page starts with the newest', async () => {
      const config = testConfig();
      const database = uniqueName('pgk_many');
      const written = ids(await writeBackups(config, database, 1_400));
      await writeFakeGlobals(openStore(config.stores.primary), 1);
      const firstPage = await listBackups(config, {});
      assert.ok(firstPage.next, `the listing of 1,400 backups fits one page of ${LISTING_PAGE_BYTES} bytes: the test no longer pages`);
      const vars = { PATH: process.env.PATH!, HOME: process.env.HOME!, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: config.temporal.taskQueue };
      const pgkeeper = (args: string[]) => execa(`${ROOT}/bin/pgkeeper`, args, { reject: false, extendEnv: false, env: vars });
      await withWorker(env, config, async () => {
        const json = await pgkeeper(['backups', '--json']);
        assert.equal(json.exitCode, 0, json.stderr);
        const listing = JSON.parse(json.stdout) as BackupListing;
        assert.deepEqual(
          listing.backups.map((x) => x.id),
          written,
          'every backup once, newest first',
        );
        assert.equal(listing.globals.length, 1);
        assert.equal('next' in listing, false);

        // A reader that stops early closes the pipe: no error, no stack trace, the exit code it would have had.
        const head = await execa('bash', ['-c', `"${ROOT}/bin/pgkeeper" backups --json | head -c 100 >/dev/null; exit \${PIPESTATUS[0]}`], {
          reject: false,
          extendEnv: false,
          env: vars,
        });
        assert.deepEqual([head.exitCode, head.stderr], [0, '']);
        // Output to a full disk: one line and exit 1, not a stack trace.
        const full = await execa('bash', ['-c', `"${ROOT}/bin/pgkeeper" backups > /dev/full`], { reject: false, extendEnv: false, env: vars });
        assert.deepEqual([full.exitCode, full.stderr], [1, 'pgkeeper: the output could not be written (ENOSPC): the disk it goes to is full']);

        const table = await pgkeeper(['backups', database]);
        assert.equal(table.exitCode, 0, table.stderr);
        assert.equal(table.stdout.split('\n').filter((line) => line.startsWith(`${database}-`)).length, 1_400);

        // Its newest backup is the first thing the first page shows (from the UI too).
        assert.equal(firstPage.backups[0]?.id, written[0]);
        const status = await pgkeeper(['status', database, '--json']);
        assert.deepEqual(
          (JSON.parse(status.stdout) as { database: string; lastSuccessfulBackup: { backupId: string } | null }[]).map((s) => [s.database, s.lastSuccessfulBackup?.backupId]),
          [[database, written[0]]],
          status.stderr,
        );
      });
    });
  });
});
