import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isoWeekKey, planRetention, type RetentionCandidate, type RetentionPolicy } from '../common/retention-plan.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 24, 12, 0, 0); // Tuesday 2026-11-24 12:00 UTC

const daysAgo = (days: number, id = `d${days}`): RetentionCandidate => ({ id, createdAtMs: NOW - days * DAY });
const kept = (backups: RetentionCandidate[], policy: RetentionPolicy) =>
  planRetention(backups, policy, NOW)
    .filter((d) => d.action === 'keep')
    .map((d) => d.id)
    .sort();

describe('retention planner: each rule', () => {
  const history = [0, 0.2, 1, 1.5, 2, 3, 6, 8, 9, 15, 20, 31, 40, 62, 100, 400].map((d) => daysAgo(d));

  const cases: [string, RetentionPolicy, string[]][] = [
    ['keepLast 3', { keepLast: 3 }, ['d0', 'd0.2', 'd1']],
    // The newest of each day: d0 (Tue 24th), d1 (Mon 23rd 12:00; d1.5 is the same day, 00:00), d2 (Sun 22nd).
    ['keepDaily 3', { keepDaily: 3 }, ['d0', 'd1', 'd2']],
    // ISO weeks start on Monday: d0..d1.5 are week 48, d2 (Sunday) is the newest of week 47.
    ['keepWeekly 2', { keepWeekly: 2 }, ['d0', 'd2']],
    ['keepMonthly 3', { keepMonthly: 3 }, ['d0', 'd31', 'd62']],
    ['maxAgeDays 7', { maxAgeDays: 7 }, ['d0', 'd0.2', 'd1', 'd1.5', 'd2', 'd3', 'd6']],
    ['maxAgeDays 1 (the old RETENTION_DAYS)', { maxAgeDays: 1 }, ['d0', 'd0.2']],
    ['union of rules', { keepLast: 1, keepMonthly: 2, maxAgeDays: 2 }, ['d0', 'd0.2', 'd1', 'd1.5', 'd31']],
    ['keepLast 0 still keeps the newest', { keepLast: 0 }, ['d0']],
  ];
  for (const [name, policy, expected] of cases) {
    it(name, () => assert.deepEqual(kept(history, policy), [...expected].sort()));
  }

  it('a backup dated in the future (beyond the clocks\' tolerance) is kept and counted by no rule: the real newest stays', () => {
    const ahead = daysAgo(-2, 'ahead');
    const plan = planRetention([daysAgo(1), ahead, daysAgo(0)], { keepLast: 1 }, NOW);
    assert.deepEqual(
      plan.map((d) => [d.id, d.action, d.reasons]),
      [
        ['ahead', 'keep', ['dated in the future (now is 2026-11-24T12:00:00.000Z): kept, and counted by no rule']],
        ['d0', 'keep', ['newest backup is always kept', 'keepLast 1/1']],
        ['d1', 'delete', ['matches no rule of: keepLast=1']],
      ],
    );
  });

  it('the backup the run made is kept whatever claims to be newer within the clocks\' tolerance', () => {
    const soon = { id: 'soon', createdAtMs: NOW + 30 * 60_000 };
    assert.deepEqual(kept([soon, daysAgo(0), daysAgo(1)], { keepLast: 1 }), ['soon']);
    const plan = planRetention([soon, daysAgo(0), daysAgo(1)], { keepLast: 1 }, NOW, 'd0');
    assert.deepEqual(plan.map((d) => [d.id, d.action]), [['soon', 'keep'], ['d0', 'keep'], ['d1', 'delete']]);
    assert.deepEqual(plan[1]!.reasons, ['made by this run']);
  });

  it('weeks are ISO weeks (Monday start, UTC), across a year boundary', () => {
    assert.equal(isoWeekKey(Date.UTC(2026, 10, 23)), '2026-W48'); // Monday
    assert.equal(isoWeekKey(Date.UTC(2026, 10, 22)), '2026-W47'); // Sunday
    assert.equal(isoWeekKey(Date.UTC(2027, 0, 1)), '2026-W53'); // Friday 1 Jan 2027 belongs to 2026's last week
    assert.equal(isoWeekKey(Date.UTC(2024, 11, 30)), '2025-W01');
  });

  it('every decision carries its reasons', () => {
    const plan = planRetention(history, { keepDaily: 2, maxAgeDays: 1 }, NOW);
    assert.deepEqual(plan.find((d) => d.id === 'd0')!.reasons, ['newest backup is always kept', 'younger than 1 days', 'daily 2026-11-24']);
    assert.deepEqual(plan.find((d) => d.id === 'd400')!.reasons, ['matches no rule of: keepDaily=2 maxAgeDays=1']);
  });
});

describe('retention planner: properties over random histories', () => {
  const backupsArb = fc
    .uniqueArray(fc.integer({ min: 0, max: 800 * 24 }), { minLength: 0, maxLength: 60 }) // hours ago
    .map((hours) => hours.map((h) => ({ id: `h${h}`, createdAtMs: NOW - h * 3_600_000 })));
  const count = fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined });
  const policyArb = fc.record({ keepLast: count, keepDaily: count, keepWeekly: count, keepMonthly: count, maxAgeDays: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }) });

  it('never deletes the newest backup, and plans exactly the given backups', () => {
    fc.assert(
      fc.property(backupsArb, policyArb, (backups, policy) => {
        const plan = planRetention(backups, policy, NOW);
        assert.deepEqual(plan.map((d) => d.id).sort(), backups.map((b) => b.id).sort());
        if (backups.length > 0) {
          const newest = backups.reduce((a, b) => (b.createdAtMs > a.createdAtMs ? b : a));
          assert.equal(plan.find((d) => d.id === newest.id)!.action, 'keep');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never deletes a backup unless a newer one is kept', () => {
    fc.assert(
      fc.property(backupsArb, policyArb, (backups, policy) => {
        const plan = planRetention(backups, policy, NOW);
        const at = new Map(backups.map((b) => [b.id, b.createdAtMs]));
        for (const d of plan.filter((x) => x.action === 'delete')) {
          assert.ok(plan.some((k) => k.action === 'keep' && at.get(k.id)! > at.get(d.id)!), `${d.id} deleted with no newer kept backup`);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps what each rule promises', () => {
    fc.assert(
      fc.property(backupsArb, policyArb, (backups, policy) => {
        const keep = new Set(planRetention(backups, policy, NOW).filter((d) => d.action === 'keep').map((d) => d.id));
        const newestFirst = [...backups].sort((a, b) => b.createdAtMs - a.createdAtMs);
        newestFirst.slice(0, policy.keepLast ?? 0).forEach((b) => assert.ok(keep.has(b.id), `keepLast: ${b.id}`));
        if (policy.maxAgeDays !== undefined) {
          newestFirst.filter((b) => NOW - b.createdAtMs < policy.maxAgeDays! * DAY).forEach((b) => assert.ok(keep.has(b.id), `maxAgeDays: ${b.id}`));
        }
        const periods: [number | undefined, (ms: number) => string][] = [
          [policy.keepDaily, (ms) => new Date(ms).toISOString().slice(0, 10)],
          [policy.keepWeekly, isoWeekKey],
          [policy.keepMonthly, (ms) => new Date(ms).toISOString().slice(0, 7)],
        ];
        for (const [n, key] of periods) {
          const newestPerPeriod = new Map<string, string>();
          for (const b of newestFirst) if (!newestPerPeriod.has(key(b.createdAtMs))) newestPerPeriod.set(key(b.createdAtMs), b.id);
          [...newestPerPeriod.values()].slice(0, n ?? 0).forEach((id) => assert.ok(keep.has(id), `period rule: ${id}`));
        }
        // Nothing beyond the rules is kept (the union of promises, plus the newest).
        const promised = new Set<string>(newestFirst.slice(0, Math.max(1, policy.keepLast ?? 0)).map((b) => b.id));
        if (Object.values(policy).every((v) => v === undefined)) newestFirst.forEach((b) => promised.add(b.id));
        newestFirst.filter((b) => policy.maxAgeDays !== undefined && NOW - b.createdAtMs < policy.maxAgeDays * DAY).forEach((b) => promised.add(b.id));
        for (const [n, key] of periods) {
          const seen = new Map<string, string>();
          for (const b of newestFirst) if (!seen.has(key(b.createdAtMs))) seen.set(key(b.createdAtMs), b.id);
          [...seen.values()].slice(0, n ?? 0).forEach((id) => promised.add(id));
        }
        assert.deepEqual([...keep].sort(), [...promised].sort());
      }),
      { numRuns: 500 },
    );
  });
});
