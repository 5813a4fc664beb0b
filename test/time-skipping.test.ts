/**
 * A clock set to a Friday: Temporal's time-skipping test server moves workflow time on by days
 * in seconds, so the launch window's rules are tested as a person would meet them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProgramEventRow } from '../activities/members';
import { createApiKey } from '../api/keys';
import { zonedTime } from '../domain/launch-window';
import { defaultProgram, type ProgramInput } from '../domain/program';
import { publishRuleSet } from '../ledger/programs';
import { generalVersion, releaseState, setGeneralVersion } from '../ledger/releases';
import { memberStateQuery, searchAttributes, workflowIds } from '../workflows/shared';
import { eventually } from './support/context';
import { approvedChange, owner, waitForLaunch } from './support/launches';
import { enrol } from './support/ledger';
import { freshDatabase } from './support/database';
import { startTimeSkippingContext, type TimeSkippingContext } from './support/time-skipping';

const day = 86_400_000;
const berlin = 'Europe/Berlin';

/** The local date (`YYYY-MM-DD`) of the next Friday after `at` in `timeZone`. */
function nextFriday(at: number, timeZone: string): string {
  const f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short' });
  for (let d = 1; d <= 7; d += 1) {
    const then = at + d * day;
    if (f.format(then) === 'Fri') {
      return new Intl.DateTimeFormat('en-CA', { timeZone }).format(then); // YYYY-MM-DD
    }
  }
  throw new Error('no Friday within a week');
}

/** `date` (`YYYY-MM-DD`) plus `days` calendar days. */
function plusDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** A local wall time in Berlin, as epoch ms. */
const inBerlin = (date: string, hhmm: string): number => zonedTime(date, hhmm, berlin);
const iso = (ms: number): string => new Date(ms).toISOString();

describe('a clock set to a Friday (the time-skipping test server)', () => {
  let t: TimeSkippingContext;
  before(async () => {
    // The default calendar (no go-live Friday to Sunday, 09:00-17:00), in Berlin.
    // The partner simulators too: a launch's readiness checks call them.
    // A database of its own: the launch's readiness checks read the whole programme.
    database = await freshDatabase('skipping');
    t = await startTimeSkippingContext(
      'time-skipping',
      { DATABASE_URL: database.url, PROGRAM_TIME_ZONE: berlin, RULE_CHANGE_NOTICE: '2 days' },
      { partners: {} },
    );
    assert.deepEqual(t.config.LAUNCH_BLACKOUT_DAYS, ['Fri', 'Sat', 'Sun']);
    assert.deepEqual(t.config.LAUNCH_HOURS, { from: '09:00', to: '17:00' });
    startVersion = await generalVersion(t.db);
  });
  after(async () => {
    // Other test files find the rules they started with.
    if (t) await t.db.transaction((trx) => setGeneralVersion(trx, startVersion));
    await t?.stop();
    await database?.drop();
  });
  let startVersion: number;
  let database: Awaited<ReturnType<typeof freshDatabase>>;

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

  it('a rule change scheduled for now on a Friday takes effect on Monday 09:00 in Berlin, not before', async () => {
    const base: ProgramInput = { ...defaultProgram, earning: { ...defaultProgram.earning } };
    const baseVersion = (
      await publishRuleSet(t.db, base, { createdBy: 'test:time-skipping', description: 'base' })
    ).version;
    const friday = nextFriday(await t.now(), berlin);
    await t.skipTo(inBerlin(friday, '10:00'));
    const monday = plusDays(friday, 3);

    const doubled: ProgramInput = {
      ...base,
      earning: { ...base.earning, pointsPerUnit: { ...base.earning.pointsPerUnit, EUR: 2 } },
    };
    const created = await t.api('POST', '/rule-sets', {
      body: { description: 'double EUR points', program: doubled, propose: true },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    const approver = await createApiKey(t.db, { role: 'admin', name: 'time-skipping-approver' });
    const approved = await t.api('POST', `/rule-changes/${id}/approve`, {
      key: approver.key,
      body: { reason: 'four eyes' },
    });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal(approved.body.state, 'approved');
    const version = approved.body.version as number;
    assert.ok(version > baseVersion);

    // "Now", by the workflows' clock: Friday 10:00 in Berlin.
    const now = await t.now();
    const scheduled = await t.api('POST', `/rule-changes/${id}/schedule`, {
      body: { activateAt: iso(now), reason: 'as soon as allowed' },
    });
    assert.equal(scheduled.status, 200, JSON.stringify(scheduled.body));
    assert.equal(scheduled.body.state, 'scheduled');
    const activateAt = inBerlin(monday, '09:00');
    assert.equal(scheduled.body.activateAt, iso(activateAt));
    assert.equal(
      scheduled.body.slotMovedBecause,
      `no launches on Fri: waits for Mon ${monday} 09:00 Europe/Berlin`,
    );
    // Members are told RULE_CHANGE_NOTICE (2 days) ahead: Saturday 09:00.
    const noticeAt = activateAt - 2 * day;
    assert.equal(scheduled.body.noticeAt, iso(noticeAt));

    const changeEvents = (type: string) =>
      t
        .db<ProgramEventRow>('program_events')
        .whereRaw("payload->>'changeId' = ?", [id])
        .where({ type })
        .orderBy('id');
    const show = async () =>
      (await t.api('GET', `/rule-changes/${id}`)).body as { state: string; activatedAt: string };

    // Saturday 08:00: not told yet, nothing in force.
    await t.skipTo(inBerlin(plusDays(friday, 1), '08:00'));
    assert.equal((await changeEvents('program.rules_changing')).length, 0);

    // Sunday noon: told (at Saturday 09:00 by the workflow's clock), still the old version.
    await t.skipTo(inBerlin(plusDays(friday, 2), '12:00'));
    const [notice] = await eventually('the notice', async () => {
      const rows = await changeEvents('program.rules_changing');
      return rows.length ? rows : undefined;
    });
    const toldAt = new Date(notice!.occurred_at).getTime();
    assert.ok(toldAt >= noticeAt && toldAt < noticeAt + 60_000, `told at ${iso(toldAt)}`);
    assert.equal(notice!.payload.activateAt, iso(activateAt));
    assert.match(String(notice!.payload.summary), /earning\.pointsPerUnit\.EUR: 1 → 2/);
    assert.equal((await show()).state, 'scheduled');
    assert.equal(await generalVersion(t.db), baseVersion, 'unchanged over the weekend');

    // Monday 08:50: still not.
    await t.skipTo(inBerlin(monday, '08:50'));
    assert.equal(await generalVersion(t.db), baseVersion, 'unchanged before 09:00');
    assert.equal((await changeEvents('program.rules_changed')).length, 0);

    // Past Monday 09:00: in force for everyone.
    await t.skipTo(inBerlin(monday, '09:10'));
    const active = await eventually('the activation', async () => {
      const view = await show();
      return view.state === 'active' ? view : undefined;
    });
    const activatedAt = Date.parse(active.activatedAt);
    assert.ok(
      activatedAt >= activateAt && activatedAt < activateAt + 60_000,
      `activated at ${active.activatedAt}`,
    );
    assert.equal(await generalVersion(t.db), version);
    assert.equal((await t.api('GET', '/rule-sets/active')).body.version, version);
    const [changed] = await changeEvents('program.rules_changed');
    assert.equal(new Date(changed!.occurred_at).getTime(), activatedAt);
    const audit = (await t.api('GET', `/rule-changes/${id}/audit`)).body.audit as {
      action: string;
    }[];
    assert.deepEqual(audit.map((a) => a.action).slice(-3), [
      'scheduled',
      'members-notified',
      'activated',
    ]);
  });

  it('a launch whose go-live is asked for on a Friday waits for Monday 09:00; the cohort opens only then', async () => {
    const base = (
      await publishRuleSet(t.db, defaultProgram, {
        createdBy: 'test:time-skipping',
        description: 'base',
      })
    ).version;
    const friday = nextFriday(await t.now(), berlin);
    await t.skipTo(inBerlin(friday, '10:00'));
    const monday = plusDays(friday, 3);

    const { changeId, version } = await approvedChange(t, {
      ...defaultProgram,
      earning: {
        ...defaultProgram.earning,
        pointsPerUnit: { ...defaultProgram.earning.pointsPerUnit, EUR: 3 },
      },
    });
    const strategy = await owner(t, 'strategy');
    const created = await t.api('POST', '/launches', {
      body: {
        changeId,
        kind: 'programme',
        name: 'Triple points',
        owners: { strategy: strategy.actor },
        cohort: { percent: 10 },
        monitoring: { window: '48 hours' },
        checks: { deadline: '24 hours', every: '1 minute' },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    const signed = await t.api('POST', `/launches/${id}/signoffs`, {
      key: strategy.key,
      body: { area: 'strategy', reason: 'team briefed' },
    });
    assert.equal(signed.status, 200, JSON.stringify(signed.body));
    await waitForLaunch(t, id, 'ready');

    // Go, now: on Friday 10:00 in Berlin by the workflow's clock.
    const go = await t.api('POST', `/launches/${id}/go`, {
      key: strategy.key,
      body: { reason: 'briefed and ready' },
    });
    assert.equal(go.status, 200, JSON.stringify(go.body));
    const goLive = inBerlin(monday, '09:00');
    const waiting = await waitForLaunch(t, id, 'waiting');
    assert.equal(waiting.goLiveAt, iso(goLive));
    assert.equal(
      waiting.slotMovedBecause,
      `no launches on Fri: waits for Mon ${monday} 09:00 Europe/Berlin`,
    );
    const cohortOpen = async () => (await releaseState(t.db)).cohort?.launchId === id;
    assert.equal(await cohortOpen(), false);

    // Sunday noon: still waiting, nobody on the new version.
    await t.skipTo(inBerlin(plusDays(friday, 2), '12:00'));
    assert.equal((await t.api('GET', `/launches/${id}`)).body.state, 'waiting');
    assert.equal(await cohortOpen(), false, 'no cohort over the weekend');
    assert.equal(await generalVersion(t.db), base);

    // Past Monday 09:00: the soft launch, to the cohort only.
    await t.skipTo(inBerlin(monday, '09:10'));
    const live = await waitForLaunch(t, id, 'soft-launched');
    const wentLive = Date.parse(live.goLiveAt);
    assert.ok(wentLive >= goLive && wentLive < goLive + 60_000, `live at ${live.goLiveAt}`);
    const release = await releaseState(t.db);
    assert.deepEqual(release.cohort, { launchId: id, version, percent: 10 });
    assert.equal(release.generalVersion, base, 'everyone else keeps the previous version');
  });
});
