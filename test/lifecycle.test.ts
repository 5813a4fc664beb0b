/**
 * The member lifecycle workflow on the real Temporal server, with program durations compressed
 * to seconds: tiers up and down with grace, dormancy, pending activation, expiry reminders and
 * both expiry policies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProgramEventRow } from '../activities/members';
import { defaultProgram, type ProgramInput } from '../domain/program';
import { recordEvent } from '../ledger/accrual';
import { placeHold, redeemHold, releaseHold } from '../ledger/holds';
import { adjustPoints } from '../ledger/adjustments';
import { reviewMember } from '../ledger/lifecycle';
import {
  lifecycleChangedSignal,
  memberStateQuery,
  searchAttributes,
  workflowIds,
} from '../workflows/shared';
import { eventually, startTestContext, type TestContext } from './support/context';
import {
  assertConsistent,
  balanceOf,
  enrol,
  post,
  publishProgram,
  purchase,
} from './support/ledger';

const base: ProgramInput = {
  ...defaultProgram,
  earning: {
    ...defaultProgram.earning,
    pointsPerUnit: { EUR: 1 },
    pendingPeriod: undefined,
    caps: { all: {}, byEventType: {} },
  },
  tiers: [
    { name: 'Member', qualifyingPoints: 0 },
    {
      name: 'Silver',
      qualifyingPoints: 500,
      benefits: { earningMultiplier: 1, fulfilmentPriority: 1 },
    },
    {
      name: 'Gold',
      qualifyingPoints: 1000,
      benefits: { earningMultiplier: 1, fulfilmentPriority: 2 },
    },
  ],
  tierPolicy: { qualificationWindow: '1 hour', tierPeriod: '1 hour', gracePeriod: '1 hour' },
  dormancy: { after: '1 hour' },
  expiry: { policy: 'fixed', lotLifetime: '1 hour', reminderBefore: '10 minutes' },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the member lifecycle workflow', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('lifecycle');
  });
  after(async () => {
    await t.stop();
  });

  const events = (memberId: string, type: string) =>
    t.db<ProgramEventRow>('program_events').where({ member_id: memberId, type }).orderBy('id');

  const attribute = async (memberId: string, key: 'Tier' | 'MemberStatus') => {
    const description = await t.env.client.workflow
      .getHandle(workflowIds.member(memberId))
      .describe();
    return description.typedSearchAttributes.get(searchAttributes[key]);
  };

  const until = (what: string, check: () => Promise<boolean>, timeoutMs = 20_000) =>
    eventually(what, async () => ((await check()) ? true : undefined), timeoutMs);

  it('upgrades at once when qualifying points cross a tier, with the search attribute', async () => {
    await publishProgram(t, base);
    const id = await enrol(t);
    const res = await post(t, purchase(id, [{ sku: 'a', amount: 600 }]));
    assert.equal(res.body.tier, 'Silver');
    await until(
      'Tier = Silver in Temporal',
      async () => (await attribute(id, 'Tier')) === 'Silver',
    );
    const [change] = await events(id, 'member.tier_changed');
    assert.deepEqual(
      { from: change?.payload.from, to: change?.payload.to, direction: change?.payload.direction },
      { from: 'Member', to: 'Silver', direction: 'up' },
    );
    const member = await t.api('GET', `/members/${id}`);
    assert.equal(member.body.tier.name, 'Silver');
    assert.deepEqual(member.body.tier.next, {
      name: 'Gold',
      qualifyingPoints: 1000,
      pointsToGo: 400,
    });
    assert.equal(member.body.tier.benefits.fulfilmentPriority, 1);
  });

  it('downgrades one tier at a time, only after the tier period and a grace period', async () => {
    await publishProgram(t, {
      ...base,
      tierPolicy: {
        qualificationWindow: '2 seconds',
        tierPeriod: '3 seconds',
        gracePeriod: '2 seconds',
      },
    });
    const id = await enrol(t);
    await post(t, purchase(id, [{ sku: 'a', amount: 1200 }]));
    assert.equal((await t.api('GET', `/members/${id}`)).body.tier.name, 'Gold');
    await until('a grace period', async () => (await events(id, 'member.tier_grace')).length === 1);
    assert.equal(await attribute(id, 'Tier'), 'Gold', 'still Gold during grace');
    await until('Silver', async () => (await attribute(id, 'Tier')) === 'Silver');
    await until('Member', async () => (await attribute(id, 'Tier')) === 'Member');
    const changes = await events(id, 'member.tier_changed');
    assert.deepEqual(
      changes.map((c) => `${String(c.payload.direction)}:${String(c.payload.to)}`),
      ['up:Gold', 'down:Silver', 'down:Member'],
    );
    const gaps = changes
      .slice(1)
      .map((c, i) => c.occurred_at.getTime() - changes[i]!.occurred_at.getTime());
    for (const gap of gaps)
      assert.ok(gap >= 5000, `a step down only after period + grace (${gap} ms)`);
  });

  it('keeps the tier when the member qualifies again during grace', async () => {
    await publishProgram(t, {
      ...base,
      // The first purchase leaves the window before the period ends; the second, made in grace,
      // is still in it when grace ends.
      tierPolicy: {
        qualificationWindow: '2500 ms',
        tierPeriod: '3 seconds',
        gracePeriod: '2 seconds',
      },
    });
    const id = await enrol(t);
    await post(t, purchase(id, [{ sku: 'a', amount: 600 }]));
    await until('a grace period', async () => (await events(id, 'member.tier_grace')).length === 1);
    await post(t, purchase(id, [{ sku: 'b', amount: 600 }]));
    await until(
      'the tier renewed',
      async () => (await events(id, 'member.tier_renewed')).length >= 1,
    );
    assert.equal(await attribute(id, 'Tier'), 'Silver');
    assert.equal((await events(id, 'member.tier_changed')).length, 1, 'only the upgrade');
  });

  it('marks a member dormant after no activity, and active again on activity', async () => {
    await publishProgram(t, { ...base, dormancy: { after: '2 seconds' } });
    const id = await enrol(t);
    await until('dormant', async () => (await attribute(id, 'MemberStatus')) === 'dormant', 15_000);
    const [dormant] = await events(id, 'member.dormant');
    assert.match(String(dormant?.payload.reason), /no qualifying activity for 2 seconds/);
    await publishProgram(t, base);
    const res = await post(t, { type: 'review', eventId: `rv-${id}`, memberId: id });
    assert.equal(res.body.status, 'active');
    await until('active again', async () => (await attribute(id, 'MemberStatus')) === 'active');
    assert.equal((await events(id, 'member.reactivated')).length, 1);
  });

  it('activates pending points when the return window closes', async () => {
    await publishProgram(t, { ...base, earning: { ...base.earning, pendingPeriod: '2 seconds' } });
    const id = await enrol(t);
    await post(t, purchase(id, [{ sku: 'a', amount: 80 }]));
    assert.deepEqual(await balanceOf(t, id), { available: 0, pending: 80, held: 0, debt: 0 });
    await until('activation', async () => (await balanceOf(t, id)).available === 80);
    assert.equal((await balanceOf(t, id)).pending, 0);
    const kinds = (await t.db('ledger_entries').where({ member_id: id }).orderBy('id')).map(
      (e: { kind: string }) => e.kind,
    );
    assert.deepEqual(kinds, ['accrual', 'activation']);
    await assertConsistent(t, id);
  });

  it("a pending lot's life starts at its activation: it never expires while pending", async () => {
    await publishProgram(t, { ...base, earning: { ...base.earning, pendingPeriod: '1 hour' } });
    const id = await enrol(t);
    const now = Date.now();
    // Earned 90 minutes ago: activated 30 minutes ago, with a whole hour of life from then.
    const earned = await recordEvent(
      t.db,
      { ...purchase(id, [{ sku: 'a', amount: 80 }]), type: 'purchase' },
      'test',
      new Date(now - 90 * 60_000),
    );
    const points = earned.body.points as { activatesAt: string; expiresAt: string };
    assert.equal(Date.parse(points.activatesAt), now - 30 * 60_000);
    assert.equal(Date.parse(points.expiresAt), now + 30 * 60_000, 'activation + lifetime');
    await reviewMember(t.db, id, new Date(now));
    assert.deepEqual(await balanceOf(t, id), { available: 80, pending: 0, held: 0, debt: 0 });
    assert.equal((await t.db('ledger_entries').where({ member_id: id, kind: 'expiry' })).length, 0);
    const member = await t.api('GET', `/members/${id}`);
    assert.deepEqual(member.body.nextExpiry, { at: points.expiresAt, points: 80 });
    await assertConsistent(t, id);
  });

  it('fixed expiry: a reminder with amount and date first, then only what is left of the lot expires', async () => {
    await publishProgram(t, {
      ...base,
      expiry: { policy: 'fixed', lotLifetime: '5 seconds', reminderBefore: '3 seconds' },
    });
    const id = await enrol(t);
    const earned = await post(t, purchase(id, [{ sku: 'a', amount: 100 }]));
    const expiresAt = String(earned.body.points.expiresAt);
    await placeHold(t.db, {
      holdId: `hold-${id}`,
      memberId: id,
      amount: 30,
      reason: 'redemption',
      actor: 'test',
    });
    const member = await t.api('GET', `/members/${id}`);
    assert.deepEqual(member.body.nextExpiry, { at: expiresAt, points: 70 });

    await until('the reminder', async () => (await events(id, 'points.expiring')).length === 1);
    const [reminder] = await events(id, 'points.expiring');
    assert.equal(reminder?.payload.points, 70);
    assert.equal(reminder?.payload.expiresAt, expiresAt);
    assert.equal((await balanceOf(t, id)).available, 70, 'nothing expired at the reminder');
    assert.ok(reminder.occurred_at.getTime() < Date.parse(expiresAt));

    await until('the expiry', async () => (await events(id, 'points.expired')).length === 1);
    assert.deepEqual(await balanceOf(t, id), { available: 0, pending: 0, held: 30, debt: 0 });
    const expiry = await t.db('ledger_entries').where({ member_id: id, kind: 'expiry' });
    assert.equal(expiry.length, 1);
    assert.equal(expiry[0].amount, -70);
    assert.ok(expiry[0].created_at.getTime() >= Date.parse(expiresAt));
    await assertConsistent(t, id);
  });

  it('activity-based expiry: qualifying activity extends every lot', async () => {
    await publishProgram(t, {
      ...base,
      expiry: { policy: 'activity', lotLifetime: '4 seconds', reminderBefore: '1 second' },
    });
    const id = await enrol(t);
    const started = Date.now();
    await post(t, purchase(id, [{ sku: 'a', amount: 40 }]));
    await sleep(2500);
    await post(t, purchase(id, [{ sku: 'b', amount: 60 }]));
    const extendedTo = Date.now() + 4000;
    await sleep(Math.max(0, started + 4800 - Date.now()));
    assert.equal(
      (await balanceOf(t, id)).available,
      100,
      'the first lot outlived its own 4 seconds',
    );
    await until('the expiry', async () => (await balanceOf(t, id)).available === 0);
    const expiries = await t.db('ledger_entries').where({ member_id: id, kind: 'expiry' });
    assert.equal(
      expiries.reduce((sum: number, e: { amount: number }) => sum + e.amount, 0),
      -100,
    );
    for (const e of expiries) assert.ok(e.created_at.getTime() >= extendedTo - 500);
    await assertConsistent(t, id);
  });
  it("activity-based expiry: a reminder before the extended date, not the lot's own", async () => {
    await publishProgram(t, {
      ...base,
      expiry: { policy: 'activity', lotLifetime: '6 seconds', reminderBefore: '2 seconds' },
    });
    const id = await enrol(t);
    await post(t, purchase(id, [{ sku: 'a', amount: 40 }]));
    await sleep(2000);
    await post(t, purchase(id, [{ sku: 'b', amount: 60 }]));
    const extendedTo = Date.now() + 6000;
    await until('the reminder', async () => (await events(id, 'points.expiring')).length >= 1);
    const [reminder] = await events(id, 'points.expiring');
    assert.equal(reminder?.payload.points, 100, 'both lots, due together after the activity');
    const remindedFor = Date.parse(String(reminder?.payload.expiresAt));
    assert.ok(
      Math.abs(remindedFor - extendedTo) < 1000,
      `reminded for the extended date (${remindedFor} vs ${extendedTo})`,
    );
    assert.ok(reminder.occurred_at.getTime() >= extendedTo - 2000 - 1000);
    assert.equal((await balanceOf(t, id)).available, 100, 'nothing expired at the reminder');
    await until('the expiry', async () => (await balanceOf(t, id)).available === 0);
    await assertConsistent(t, id);
  });

  it('activity-based expiry: released hold points come back unexpired when activity extended them', async () => {
    await publishProgram(t, {
      ...base,
      expiry: { policy: 'activity', lotLifetime: '1 hour', reminderBefore: '1 minute' },
    });
    const id = await enrol(t);
    const now = Date.now();
    // Earned 50 minutes ago: the lot's own date is 10 minutes from now.
    await recordEvent(
      t.db,
      { ...purchase(id, [{ sku: 'a', amount: 100 }]), type: 'purchase' },
      'test',
      new Date(now - 50 * 60_000),
    );
    await placeHold(t.db, { holdId: `h-${id}`, memberId: id, amount: 70, reason: 'r', actor: 't' });
    // Activity now extends every lot to an hour from now.
    await post(t, { type: 'review', eventId: `rv-${id}`, memberId: id });
    // Released 30 minutes from now: past the lot's own date, before its extended one.
    await releaseHold(
      t.db,
      { holdId: `h-${id}`, memberId: id, reason: 'redemption failed', actor: 't' },
      new Date(now + 30 * 60_000),
    );
    const review = Number(base.earning.eventPoints?.review ?? 0);
    assert.deepEqual(await balanceOf(t, id), {
      available: 100 + review,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.equal((await t.db('ledger_entries').where({ member_id: id, kind: 'expiry' })).length, 0);
    await assertConsistent(t, id);
  });

  it('switching to activity expiry never makes a lot expire before its own date', async () => {
    await publishProgram(t, base);
    const id = await enrol(t);
    const now = Date.now();
    // The last activity 50 minutes ago (its lot's own date: 10 minutes from now), then a grant now
    // (not activity: its own date is an hour from now).
    await recordEvent(
      t.db,
      { ...purchase(id, [{ sku: 'a', amount: 80 }]), type: 'purchase' },
      'test',
      new Date(now - 50 * 60_000),
    );
    await adjustPoints(
      t.db,
      { memberId: id, points: 100, reason: 'goodwill', actor: 'test', dedupeKey: `g-${id}` },
      new Date(now),
    );
    // Activity expiry with a shorter lifetime: the last activity + 10 minutes is long past.
    await publishProgram(t, {
      ...base,
      expiry: { policy: 'activity', lotLifetime: '10 minutes', reminderBefore: '1 minute' },
    });
    const member = await t.api('GET', `/members/${id}`);
    assert.deepEqual(member.body.nextExpiry, {
      at: new Date(now - 50 * 60_000 + 3_600_000).toISOString(),
      points: 80,
    });
    await reviewMember(t.db, id, new Date(now + 20 * 60_000));
    assert.deepEqual(await balanceOf(t, id), { available: 100, pending: 0, held: 0, debt: 0 });
    const expiries = await t.db('ledger_entries').where({ member_id: id, kind: 'expiry' });
    assert.deepEqual(
      expiries.map((e: { amount: number }) => e.amount),
      [-80],
      'only the purchase lot, at its own date',
    );
    await assertConsistent(t, id);
  });

  it('pending points that activate repay debt first', async () => {
    await publishProgram(t, base);
    const id = await enrol(t);
    const first = purchase(id, [{ sku: 'a', amount: 100 }]);
    await post(t, first);
    await placeHold(t.db, {
      holdId: `s-${id}`,
      memberId: id,
      amount: 100,
      reason: 'r',
      actor: 't',
    });
    await redeemHold(t.db, { holdId: `s-${id}`, memberId: id, reason: 'spent', actor: 't' });
    await publishProgram(t, { ...base, earning: { ...base.earning, pendingPeriod: '3 seconds' } });
    await post(t, purchase(id, [{ sku: 'b', amount: 80 }]));
    const back = await post(t, {
      type: 'return',
      eventId: `ret-${id}`,
      memberId: id,
      orderId: first.orderId,
      lines: [{ sku: 'a', quantity: 1 }],
    });
    assert.deepEqual(back.body.balance, { available: 0, pending: 80, held: 0, debt: 100 });
    await until('activation', async () => (await balanceOf(t, id)).pending === 0);
    assert.deepEqual(await balanceOf(t, id), { available: 0, pending: 0, held: 0, debt: 20 });
    const [activation] = await t.db('ledger_entries').where({ member_id: id, kind: 'activation' });
    assert.match(activation.reason, /80 repaying debt/);
    await assertConsistent(t, id);
  });

  it('hands over with continue-as-new and carries its state into the new run', async () => {
    await publishProgram(t, base);
    const id = await enrol(t);
    const handle = t.env.client.workflow.getHandle(workflowIds.member(id));
    const firstRun = (await handle.describe()).runId;
    // npm test's server suggests continue-as-new after 300 events (stack/test.ts).
    let runId = firstRun;
    for (let i = 0; i < 200 && runId === firstRun; i++) {
      await handle.signal(lifecycleChangedSignal, ['timers']);
      if (i % 10 === 9) {
        await sleep(200);
        runId = (await handle.describe()).runId;
      }
    }
    assert.notEqual(runId, firstRun, 'a new run');
    const previous = await t.env.client.workflow
      .getHandle(workflowIds.member(id), firstRun)
      .describe();
    assert.equal(previous.status.name, 'CONTINUED_AS_NEW');

    const res = await post(t, purchase(id, [{ sku: 'a', amount: 600 }]));
    assert.equal(res.body.tier, 'Silver');
    await until(
      'Tier = Silver on the new run',
      async () => (await attribute(id, 'Tier')) === 'Silver',
    );
    const state = await handle.query(memberStateQuery);
    assert.equal(state.enrolmentRecorded, true);
    assert.equal(state.tier, 'Silver');
    assert.equal((await events(id, 'member.enrolled')).length, 1, 'enrolment recorded once');
  });
  it('a lot past its date is never held or spent, even before its expiry timer has fired', async () => {
    await publishProgram(t, base); // fixed expiry, lots live an hour
    const id = await enrol(t);
    const now = Date.now();
    await recordEvent(
      t.db,
      { ...purchase(id, [{ sku: 'a', amount: 100 }]), type: 'purchase' },
      'test',
      new Date(now - 50 * 60_000),
    );
    await post(t, purchase(id, [{ sku: 'b', amount: 30 }]));
    const later = new Date(now + 20 * 60_000); // the first lot is 10 minutes past its date
    const hold = (amount: number) =>
      placeHold(
        t.db,
        { holdId: `x-${amount}-${id}`, memberId: id, amount, reason: 'r', actor: 't' },
        later,
      );
    await assert.rejects(hold(50), /Not enough points: 50 asked, 30 available/);
    assert.equal((await balanceOf(t, id)).available, 130, 'a refused hold changes nothing');
    await hold(30);
    assert.deepEqual(await balanceOf(t, id), { available: 0, pending: 0, held: 30, debt: 0 });
    const expiry = await t.db('ledger_entries').where({ member_id: id, kind: 'expiry' });
    assert.deepEqual(
      expiry.map((e: { amount: number }) => e.amount),
      [-100],
    );
    await assertConsistent(t, id);
  });
});
