/**
 * Retention as a pure planner: given the complete backups of one database and a policy, decide
 * what to keep and why. Deleting is the activity's job; this file only decides, so it can be
 * tested exhaustively.
 *
 * Rules (a backup is kept when ANY rule keeps it, like restic's --keep-*):
 *   keepLast N      the N newest backups
 *   keepDaily N     the newest backup of each of the N newest UTC days that have one
 *   keepWeekly N    likewise per ISO week (UTC)
 *   keepMonthly N   likewise per calendar month (UTC)
 *   maxAgeDays D    every backup younger than D days (the old RETENTION_DAYS)
 * Whatever the policy, the newest backup is always kept, and so is the one the calling run just
 * made. A backup dated in the future (its id's time, by the clock of the Temporal server that ran
 * it, more than FUTURE_TOLERANCE_MS ahead of `nowMs`) is kept and counted by no rule: otherwise a
 * clock that once ran ahead, or a key brought in by hand, would make every real backup older than
 * the "newest" one and have the rules delete them. Backups are given newest first; those of the
 * same second keep that order.
 */

export interface RetentionPolicy {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  maxAgeDays?: number;
}

export interface RetentionCandidate {
  id: string;
  createdAtMs: number;
}

export interface RetentionDecision {
  id: string;
  createdAt: string;
  action: 'keep' | 'delete';
  reasons: string[];
}

const DAY_MS = 86_400_000;
/** The reason the newest backup (dated up to now) is kept, whatever the policy. */
export const NEWEST_KEPT = 'newest backup is always kept';
/** How far ahead of the worker's clock a backup's time may be (the Temporal server's clock stamps ids): further is "in the future". */
export const FUTURE_TOLERANCE_MS = 3_600_000;

function dayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function monthKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** ISO 8601 week (weeks start on Monday; week 1 holds the year's first Thursday), in UTC. */
export function isoWeekKey(ms: number): string {
  const d = new Date(ms);
  const date = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday); // Thursday of this week decides the year
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((date.getTime() - yearStart) / DAY_MS + 1) / 7);
  return `${date.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** Keeps the newest backup in each of the first `count` periods, newest period first. */
function keepPerPeriod(
  newestFirst: RetentionCandidate[],
  count: number,
  key: (ms: number) => string,
  label: string,
  reasons: Map<string, string[]>,
): void {
  const seen = new Set<string>();
  for (const b of newestFirst) {
    if (seen.size >= count) break;
    const k = key(b.createdAtMs);
    if (seen.has(k)) continue;
    seen.add(k);
    reasons.get(b.id)!.push(`${label} ${k}`);
  }
}

export function describePolicy(policy: RetentionPolicy): string {
  const parts = Object.entries(policy)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(' ') : 'keep everything (no rule given)';
}

/** Whether a policy's rules keep nothing beyond the newest backup (none given, or every one 0). */
export function keepsOnlyNewest(policy: RetentionPolicy): boolean {
  return Object.values(policy).every((v) => !v);
}

/** Whether a backup's time is in the future by more than the clocks may differ. */
export function isDatedInFuture(createdAtMs: number, nowMs: number): boolean {
  return createdAtMs > nowMs + FUTURE_TOLERANCE_MS;
}

export function planRetention(
  backups: RetentionCandidate[],
  policy: RetentionPolicy,
  nowMs: number,
  madeByThisRun?: string,
): RetentionDecision[] {
  // A stable sort: backups of one second keep the order given (the catalog's, which knows which came later).
  const sorted = [...backups].sort((a, b) => b.createdAtMs - a.createdAtMs);
  const reasons = new Map(sorted.map((b) => [b.id, [] as string[]]));
  for (const b of sorted.filter((c) => isDatedInFuture(c.createdAtMs, nowMs))) {
    reasons.get(b.id)!.push(`dated in the future (now is ${new Date(nowMs).toISOString()}): kept, and counted by no rule`);
  }
  if (madeByThisRun !== undefined) reasons.get(madeByThisRun)?.push('made by this run');
  const newestFirst = sorted.filter((b) => !isDatedInFuture(b.createdAtMs, nowMs));
  const noRule = Object.values(policy).every((v) => v === undefined);

  newestFirst.forEach((b, i) => {
    if (i === 0) reasons.get(b.id)!.push(NEWEST_KEPT);
    if (noRule) reasons.get(b.id)!.push('no retention rule given');
    if (policy.keepLast !== undefined && i < policy.keepLast) reasons.get(b.id)!.push(`keepLast ${i + 1}/${policy.keepLast}`);
    if (policy.maxAgeDays !== undefined && nowMs - b.createdAtMs < policy.maxAgeDays * DAY_MS) {
      reasons.get(b.id)!.push(`younger than ${policy.maxAgeDays} days`);
    }
  });
  if (policy.keepDaily) keepPerPeriod(newestFirst, policy.keepDaily, dayKey, 'daily', reasons);
  if (policy.keepWeekly) keepPerPeriod(newestFirst, policy.keepWeekly, isoWeekKey, 'weekly', reasons);
  if (policy.keepMonthly) keepPerPeriod(newestFirst, policy.keepMonthly, monthKey, 'monthly', reasons);

  return sorted.map((b) => {
    const why = reasons.get(b.id)!;
    const keep = why.length > 0;
    return {
      id: b.id,
      createdAt: new Date(b.createdAtMs).toISOString(),
      action: keep ? 'keep' : 'delete',
      reasons: keep ? why : [`matches no rule of: ${describePolicy(policy)}`],
    };
  });
}
