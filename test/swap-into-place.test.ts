/**
 * The swap, the restore's last step, on a real server: the previous database is kept under the
 * first free pre-restore name (one may be taken: made by hand, or kept by a replace a moment
 * before), and a retried swap names the database it kept, not one that merely has a candidate's name.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { swapIntoPlace, type SwapRequest } from '../activities/swap-into-place.js';
import { keptName, stagingName } from '../common/restore-input.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, dropDatabase, listDatabases, sql } from './helpers/postgres.js';

describe('swapIntoPlace', () => {
  const config = testConfig();
  const made: string[] = [];
  after(async () => {
    for (const db of await listDatabases(config)) if (made.some((m) => db.startsWith(m))) await dropDatabase(config, db);
  });
  const swap = (req: SwapRequest) => new MockActivityEnvironment().run(swapIntoPlace, config, req) as Promise<{ keptPrevious: string | null }>;
  const tables = async (db: string) => (await sql<{ relname: string }>(config, db, "select relname from pg_class where relname like 'marker_%'")).map((r) => r.relname);

  /** A target holding table marker_previous and a staging database holding marker_restored. */
  async function prepare(): Promise<{ target: string; staging: string; stagingOid: number }> {
    const target = uniqueName('pgk_swap');
    made.push(target);
    const staging = stagingName(target, randomUUID());
    await createDatabase(config, target);
    await sql(config, target, 'create table marker_previous (id int)');
    await createDatabase(config, staging);
    await sql(config, staging, 'create table marker_restored (id int)');
    const [row] = await sql<{ oid: string }>(config, 'postgres', 'select oid from pg_database where datname = $1', [staging]);
    return { target, staging, stagingOid: Number(row!.oid) };
  }

  it('keeps the previous database under the first free name; a retry names the one it kept, not one made by hand', async () => {
    const { target, staging, stagingOid } = await prepare();
    const atMs = Date.UTC(2026, 0, 1, 2, 0, 0);
    const handMade = [keptName(target, atMs), keptName(target, atMs + 2000)];
    for (const name of handMade) await createDatabase(config, name);
    const req: SwapRequest = { staging, stagingOid, target, mode: 'replace', keptAtMs: atMs, kept: keptName(target, atMs) };

    const swapped = await swap(req);
    assert.equal(swapped.keptPrevious, keptName(target, atMs + 1000), 'the first free second');
    assert.deepEqual(await tables(target), ['marker_restored']);
    assert.deepEqual(await tables(swapped.keptPrevious!), ['marker_previous']);
    for (const name of handMade) assert.deepEqual(await tables(name), [], `${name} untouched`);

    // The worker died after the swap committed: its retry finds it done, and says where the previous went.
    assert.deepEqual(await swap(req), swapped);
  });

  it('a swap with no previous database to keep reports none, on a retry too, whatever databases have the candidate names', async () => {
    const { target, staging, stagingOid } = await prepare();
    await dropDatabase(config, target);
    const atMs = Date.UTC(2026, 0, 1, 3, 0, 0);
    await createDatabase(config, keptName(target, atMs));
    const req: SwapRequest = { staging, stagingOid, target, mode: 'replace', keptAtMs: atMs, kept: keptName(target, atMs) };
    assert.deepEqual(await swap(req), { keptPrevious: null });
    assert.deepEqual(await swap(req), { keptPrevious: null });
    assert.deepEqual(await tables(target), ['marker_restored']);
  });

  it('a swap scheduled by a run begun before keptAtMs existed keeps the previous database under the name it was given', async () => {
    const { target, staging, stagingOid } = await prepare();
    const kept = keptName(target, Date.UTC(2026, 0, 1, 4, 0, 0));
    const old = { staging, stagingOid, target, mode: 'replace', kept } as unknown as SwapRequest;
    assert.deepEqual(await swap(old), { keptPrevious: kept });
    assert.deepEqual(await tables(kept), ['marker_previous']);
    assert.deepEqual(await swap(old), { keptPrevious: kept });
  });
});
