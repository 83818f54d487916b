/**
 * Where a workflow's wall time went, from its history: for each activity the time it waited in the
 * task queue (scheduled -> started) and ran (started -> completed), and the time between activities
 * (workflow tasks). Event types are the API's numbers (@temporalio/proto has no ESM named exports).
 */
import type { WorkflowHandle } from '@temporalio/client';

const STARTED = 1;
const COMPLETED = 2;
const ACTIVITY_SCHEDULED = 10;
const ACTIVITY_STARTED = 11;
const ACTIVITY_COMPLETED = 12;

interface Event {
  eventId?: { toString(): string } | number | null;
  eventType?: number | null;
  eventTime?: { seconds?: { toString(): string } | number | null; nanos?: number | null } | null;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: { toString(): string } | number | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: { toString(): string } | number | null } | null;
}

export interface ActivitySpan {
  activity: string;
  queuedMs: number;
  ranMs: number;
}

export interface Timeline {
  totalMs: number;
  activities: ActivitySpan[];
  /** Workflow time outside any activity: workflow tasks, and scheduling between activities. */
  betweenMs: number;
}

const ms = (e: Event) => Number(String(e.eventTime?.seconds ?? 0)) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
const id = (v: { toString(): string } | number | null | undefined) => String(v ?? '');

export async function timeline(handle: WorkflowHandle): Promise<Timeline> {
  const events = ((await handle.fetchHistory()).events ?? []) as Event[];
  const start = events.find((e) => e.eventType === STARTED);
  const end = events.find((e) => e.eventType === COMPLETED);
  const scheduled = new Map<string, { name: string; at: number; startedAt?: number }>();
  const activities: ActivitySpan[] = [];
  for (const e of events) {
    if (e.eventType === ACTIVITY_SCHEDULED) scheduled.set(id(e.eventId), { name: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?', at: ms(e) });
    if (e.eventType === ACTIVITY_STARTED) {
      const s = scheduled.get(id(e.activityTaskStartedEventAttributes?.scheduledEventId));
      if (s) s.startedAt = ms(e);
    }
    if (e.eventType === ACTIVITY_COMPLETED) {
      const s = scheduled.get(id(e.activityTaskCompletedEventAttributes?.scheduledEventId));
      if (s) activities.push({ activity: s.name, queuedMs: Math.round((s.startedAt ?? s.at) - s.at), ranMs: Math.round(ms(e) - (s.startedAt ?? s.at)) });
    }
  }
  const totalMs = start && end ? Math.round(ms(end) - ms(start)) : Number.NaN;
  return { totalMs, activities, betweenMs: totalMs - activities.reduce((sum, a) => sum + a.queuedMs + a.ranMs, 0) };
}

export function formatTimeline(t: Timeline): string {
  const parts = t.activities.map((a) => `${a.activity} ${a.ranMs} ms${a.queuedMs > 5 ? ` (+${a.queuedMs} queued)` : ''}`);
  return `${t.totalMs} ms = ${parts.join(' + ')} + ${t.betweenMs} ms between activities`;
}
