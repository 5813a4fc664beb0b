/**
 * A clock set to a Friday: Temporal's time-skipping test server moves workflow time on by days
 * in seconds, so the launch window's rules are tested as a person would meet them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProgramEventRow } from '../activities/members';
import { zonedTime } from '../domain/launch-window';
import { defaultProgram } from '../domain/program';
import { publishRuleSet } from '../ledger/programs';
import { memberStateQuery, searchAttributes, workflowIds } from '../workflows/shared';
import { eventually } from './support/context';
import { enrol } from './support/ledger';
import { startTimeSkippingContext, type TimeSkippingContext } from './support/time-skipping';

const day = 86_400_000;
const berlin = 'Europe/Berlin';

/** The local date (`YYYY-MM-DD`) of the next Friday after `at` in `timeZone`. */
function nextFriday(at: number, timeZone: string): string {
  const f = new Intl.DateTimeFormat('en-CA', { timeZone, weekday: 'short' });
  for (let d = 1; d <= 7; d += 1) {
    const then = at + d * day;
    if (f.format(then).startsWith('Fri')) {
      return new Intl.DateTimeFormat('en-CA', { timeZone }).format(then); // YYYY-MM-DD
    }
  }
  throw new Error('no Friday within a week');
}

describe('a clock set to a Friday (the time-skipping test server)', () => {
  let t: TimeSkippingContext;
  before(async () => {
    t = await startTimeSkippingContext('time-skipping', { PROGRAM_TIME_ZONE: berlin });
  });
  after(async () => {
    await t?.stop();
  });

  const events = (memberId: string, type: string) =>
    t.db<ProgramEventRow>('program_events').where({ member_id: memberId, type }).orderBy('id');

  it('skips workflow time by weeks: a member lifecycle timer of 30 days fires at once', async () => {
    await publishRuleSet(
      t.db,
      { ...defaultProgram, dormancy: { after: '30 days' } },
      {
        createdBy: 'test:time-skipping',
        description: 'dormant after 30 days',
      },
    );
    const id = await enrol(t);
    const handle = t.env.client.workflow.getHandle(workflowIds.member(id));
    const enrolledAt = await t.now();
    const first = await eventually('the first review', async () => {
      const state = await handle.query(memberStateQuery);
      return state.lastReview ? state : undefined;
    });
    assert.equal(first.status, 'active');

    // To the next Friday 10:00 in Berlin: at least 30 days on, the dormancy is due.
    const friday = zonedTime(nextFriday(enrolledAt + 30 * day, berlin), '10:00', berlin);
    await t.skipTo(friday);
    assert.ok((await t.now()) >= friday, 'the server clock is on that Friday');

    const reviewed = await eventually('the member marked dormant', async () => {
      const state = await handle.query(memberStateQuery);
      return state.status === 'dormant' ? state : undefined;
    });
    // The workflow decided on its own clock: 30 days after enrolment, not seconds.
    assert.ok(reviewed.lastReview!.at >= enrolledAt + 30 * day, 'reviewed 30 days later');
    const member = await t.db('members').where({ id }).first();
    assert.equal(member.status, 'dormant');
    const [dormant] = await events(id, 'member.dormant');
    assert.match(String(dormant?.payload.reason), /no qualifying activity for 30 days/);
    // Our own search attributes work on the test server (registered by the context).
    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(searchAttributes.MemberStatus), 'dormant');
  });
});
