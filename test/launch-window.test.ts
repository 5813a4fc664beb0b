/**
 * The launch window calendar, pure: when a rule change may take effect or a launch go live, in
 * the programme's time zone, and what it says when it has to wait.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, launchWindowPolicy } from '../config';
import { nextAllowedSlot, type LaunchWindowPolicy } from '../domain/launch-window';

const berlin: LaunchWindowPolicy = {
  timeZone: 'Europe/Berlin',
  blackoutDays: ['Fri', 'Sat', 'Sun'],
  holidays: [],
  hours: { from: '09:00', to: '17:00' },
};

const utc = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

describe('launch window', () => {
  it('the default settings are the policy: Friday and the weekend closed, 09:00-17:00', () => {
    const policy = launchWindowPolicy(loadConfig({ PROGRAM_TIME_ZONE: 'Europe/Berlin' }));
    assert.deepEqual(policy, berlin);
  });

  it('a Friday moves to Monday 09:00 in Berlin, across the spring DST change (CET -> CEST)', () => {
    // Friday 26 March 2027, 10:00 CET; clocks go forward on Sunday 28 March.
    const slot = nextAllowedSlot(utc('2027-03-26T09:00:00Z'), berlin);
    assert.equal(iso(slot.at), '2027-03-29T07:00:00.000Z'); // Monday 09:00 CEST (UTC+2)
    assert.equal(
      slot.movedBecause,
      'no launches on Fri: waits for Mon 2027-03-29 09:00 Europe/Berlin',
    );
  });

  it('a Friday moves to Monday 09:00 in Berlin, across the autumn DST change (CEST -> CET)', () => {
    // Friday 23 October 2026, 12:00 CEST; clocks go back on Sunday 25 October.
    const slot = nextAllowedSlot(utc('2026-10-23T10:00:00Z'), berlin);
    assert.equal(iso(slot.at), '2026-10-26T08:00:00.000Z'); // Monday 09:00 CET (UTC+1)
    assert.equal(
      slot.movedBecause,
      'no launches on Fri: waits for Mon 2026-10-26 09:00 Europe/Berlin',
    );
  });

  it('a Saturday and a Sunday also wait for Monday, each saying which day it was', () => {
    const saturday = nextAllowedSlot(utc('2026-12-05T13:00:00Z'), berlin);
    const sunday = nextAllowedSlot(utc('2026-12-06T22:30:00Z'), berlin); // 23:30 Sunday in Berlin
    assert.equal(iso(saturday.at), '2026-12-07T08:00:00.000Z');
    assert.equal(iso(sunday.at), '2026-12-07T08:00:00.000Z');
    assert.match(
      saturday.movedBecause ?? '',
      /^no launches on Sat: waits for Mon 2026-12-07 09:00/,
    );
    assert.match(sunday.movedBecause ?? '', /^no launches on Sun: waits for Mon 2026-12-07 09:00/);
  });

  it('the Berlin day, not the UTC day, decides: Friday 00:30 in Berlin is still Thursday in UTC', () => {
    const slot = nextAllowedSlot(utc('2026-12-03T23:30:00Z'), berlin);
    assert.equal(iso(slot.at), '2026-12-07T08:00:00.000Z');
    assert.match(slot.movedBecause ?? '', /^no launches on Fri/);
  });

  it('a holiday on the Monday moves a Friday on to Tuesday', () => {
    const policy = { ...berlin, holidays: ['2026-12-07'] };
    const fromFriday = nextAllowedSlot(utc('2026-12-04T09:00:00Z'), policy);
    assert.equal(iso(fromFriday.at), '2026-12-08T08:00:00.000Z');
    assert.equal(
      fromFriday.movedBecause,
      'no launches on Fri: waits for Tue 2026-12-08 09:00 Europe/Berlin',
    );
    const onTheHoliday = nextAllowedSlot(utc('2026-12-07T10:00:00Z'), policy);
    assert.equal(iso(onTheHoliday.at), '2026-12-08T08:00:00.000Z');
    assert.equal(
      onTheHoliday.movedBecause,
      '2026-12-07 is a holiday: waits for Tue 2026-12-08 09:00 Europe/Berlin',
    );
  });

  it('after hours moves to the next day at opening; before hours to the same day', () => {
    const evening = nextAllowedSlot(utc('2026-12-08T17:00:00Z'), berlin); // Tue 18:00
    assert.equal(iso(evening.at), '2026-12-09T08:00:00.000Z');
    assert.equal(
      evening.movedBecause,
      'outside launch hours 09:00-17:00 Europe/Berlin: waits for Wed 2026-12-09 09:00 Europe/Berlin',
    );
    const closing = nextAllowedSlot(utc('2026-12-08T16:00:00Z'), berlin); // Tue 17:00 sharp
    assert.equal(iso(closing.at), '2026-12-09T08:00:00.000Z');
    const early = nextAllowedSlot(utc('2026-12-08T05:00:00Z'), berlin); // Tue 06:00
    assert.equal(iso(early.at), '2026-12-08T08:00:00.000Z');
    assert.match(early.movedBecause ?? '', /^outside launch hours/);
  });

  it('Thursday after hours skips the closed Friday and weekend', () => {
    const slot = nextAllowedSlot(utc('2026-12-10T18:00:00Z'), berlin); // Thu 19:00
    assert.equal(iso(slot.at), '2026-12-14T08:00:00.000Z');
    assert.match(slot.movedBecause ?? '', /^outside launch hours .*: waits for Mon 2026-12-14/);
  });

  it('within hours on an open day is unchanged, to the millisecond', () => {
    const at = utc('2026-12-08T09:30:15.250Z'); // Tue 10:30:15 in Berlin
    assert.deepEqual(nextAllowedSlot(at, berlin), { at, movedBecause: null });
    const opening = utc('2026-12-08T08:00:00Z'); // Tue 09:00 sharp
    assert.deepEqual(nextAllowedSlot(opening, berlin), { at: opening, movedBecause: null });
  });

  it('blackout none and hours 00:00-24:00 leave any moment unchanged, a Saturday night too', () => {
    const open = loadConfig({
      PROGRAM_TIME_ZONE: 'Europe/Berlin',
      LAUNCH_BLACKOUT_DAYS: 'none',
      LAUNCH_HOURS: '00:00-24:00',
    });
    const policy = launchWindowPolicy(open);
    for (const moment of ['2026-12-05T02:00:00Z', '2026-12-04T23:59:59Z', '2027-03-28T01:30:00Z']) {
      const at = utc(moment);
      assert.deepEqual(nextAllowedSlot(at, policy), { at, movedBecause: null }, moment);
    }
  });
});
