/** `schedule describe` writes Temporal's structured calendars and intervals back as a person types them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CalendarSpecDescription } from '@temporalio/client';
import { cronText, durationText, timingText } from '../client/schedule-timing.js';

const range = <T>(start: T, end = start, step = 1) => ({ start, end, step });
/** A calendar as Temporal describes one: every field present, unset ones spanning their whole range. */
function calendar(fields: Partial<Record<'minute' | 'hour' | 'dayOfMonth' | 'month' | 'dayOfWeek', unknown[]>>): CalendarSpecDescription {
  return {
    second: [range(0)],
    minute: [range(0, 59)],
    hour: [range(0, 23)],
    dayOfMonth: [range(1, 31)],
    month: [range('JANUARY', 'DECEMBER')],
    year: [],
    dayOfWeek: [range('SUNDAY', 'SATURDAY')],
    comment: '',
    ...fields,
  } as unknown as CalendarSpecDescription;
}

describe('schedule timing text', () => {
  it('cron fields: single values, ranges, steps, lists, names of months and days', () => {
    assert.equal(cronText(calendar({ minute: [range(30)], hour: [range(1)], dayOfWeek: [range('MONDAY', 'FRIDAY')] })), '30 1 * * MON-FRI');
    assert.equal(cronText(calendar({ minute: [range(0, 59, 15)], hour: [range(8, 18)], dayOfMonth: [range(1), range(15)] })), '*/15 8-18 1,15 * *');
    assert.equal(cronText(calendar({ minute: [range(0)], hour: [range(5)], month: [range('MARCH')], dayOfWeek: [range('SUNDAY')] })), '0 5 * MAR SUN');
    // Seconds and years, when given, as the six- and seven-field forms.
    assert.equal(cronText(calendar({ second: [range(30)], minute: [range(0)], hour: [range(2)] } as never)), '30 0 2 * * * *');
    assert.equal(cronText(calendar({ minute: [range(15)], hour: [range(3)], dayOfWeek: [range('MONDAY', 'FRIDAY')], year: [range(2027)] } as never)), '15 3 * * MON-FRI 2027');
  });

  it('intervals in the largest units that divide them', () => {
    assert.equal(durationText(6 * 3_600_000), '6h');
    assert.equal(durationText(90 * 60_000), '1h30m');
    assert.equal(durationText(86_400_000 + 30_000), '1d30s');
    assert.equal(durationText(1_500), '1s500ms');
    assert.equal(timingText({ intervals: [{ every: 86_400_000, offset: 7_200_000 }] as never }), 'every 1d (offset 2h)');
    assert.equal(timingText({ intervals: [{ every: 21_600_000, offset: 0 }] as never }), 'every 6h');
    assert.equal(timingText({}), 'none');
  });
});
