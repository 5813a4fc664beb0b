/**
 * The review hold, through the API on the real stack: a redemption above `reviewAbovePoints`
 * waits `in_review` with its points held (no stock taken); ops approve (fulfilment goes on) or
 * reject (points back); undecided at the deadline, `reviewOnTimeout` decides. A bad decision
 * (no reason, wrong state, wrong role) is a clear error that changes nothing, and a retried
 * decision does nothing twice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProgramInput } from '../domain/program';
import { startTestContext, type TestContext } from './support/context';
import { balanceOf, publishProgram } from './support/ledger';
import {
  createReward,
  deliveredSteps,
  inventoryOf,
  memberWithPoints,
  programEvents,
  redeem,
  redemptionProgram,
  steps,
  waitForStatus,
} from './support/redemptions';

let t: TestContext;

const withPolicy = (policy: Record<string, unknown>) =>
  publishProgram(t, {
    ...redemptionProgram,
    redemption: { ...redemptionProgram.redemption!, reviewAbovePoints: 500, ...policy },
  });

const stock = async (sku: string) => {
  const { onHand, reserved } = await inventoryOf(t, sku);
  return { onHand, reserved };
};

const decide = (id: string, body: unknown, key = t.keys.ops, headers = {}) =>
  t.api('POST', `/redemptions/${id}/review`, { key, body, headers });

/** A member with 2000 points redeems a 600-point reward (5 in stock): held for review. */
async function held() {
  const sku = await createReward(t, { pointsCost: 600, onHand: 5 });
  const memberId = await memberWithPoints(t, 2000);
  const res = await redeem(t, { memberId, rewardId: sku });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.status, 'in_review', 'the POST answers in_review');
  const id = res.body.redemptionId as string;
  assert.deepEqual(await balanceOf(t, memberId), {
    available: 1400,
    pending: 0,
    held: 600,
    debt: 0,
  });
  assert.deepEqual(await stock(sku), { onHand: 5, reserved: 0 }, 'no stock taken in review');
  return { sku, memberId, id };
}

describe('redemptions held for review', () => {
  let inForce: ProgramInput;
  before(async () => {
    t = await startTestContext('redemption-review', {}, { partners: {} });
    inForce = (await t.api('GET', '/rule-sets/active')).body.program as ProgramInput;
  });
  after(async () => {
    await publishProgram(t, inForce);
    await t.stop();
  });

  it('held, then approved by ops: fulfilled; bad and repeated decisions change nothing', async () => {
    await withPolicy({ reviewDeadline: '1 hour', reviewReminderBefore: '10 minutes' });
    const { sku, memberId, id } = await held();

    const queue = await t.api('GET', '/reviews', { key: t.keys.readonly });
    assert.equal(queue.status, 200, JSON.stringify(queue.body));
    const mine = queue.body.reviews.find((r: { redemptionId: string }) => r.redemptionId === id);
    assert.equal(mine.reasons[0].source, 'reviewAbovePoints');
    assert.match(mine.reasons[0].summary, /600 points is above the 500/);
    assert.ok(mine.deadlineAt);

    const noReason = await decide(id, { decision: 'approve' });
    assert.equal(noReason.status, 422, JSON.stringify(noReason.body));
    const badDecision = await decide(id, { decision: 'maybe', reason: 'looks fine' });
    assert.equal(badDecision.status, 422, JSON.stringify(badDecision.body));
    for (const key of [t.keys.readonly, t.keys.partner]) {
      const forbidden = await decide(id, { decision: 'approve', reason: 'looks fine' }, key);
      assert.equal(forbidden.status, 403, JSON.stringify(forbidden.body));
    }
    const view = await waitForStatus(t, id, 'in_review');
    assert.ok(!steps(view).includes('review_decided'), 'nothing decided by bad requests');

    const headers = { 'Idempotency-Key': `review-${id}` };
    const approve = { decision: 'approve', reason: 'known customer' };
    const first = await decide(id, approve, t.keys.ops, headers);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.notEqual(first.body.status, 'in_review');
    assert.equal((await decide(id, approve, t.keys.ops, headers)).status, 200, 'same key');
    assert.equal((await decide(id, approve)).status, 200, 'the same decision again');
    const other = await decide(id, { decision: 'reject', reason: 'changed my mind' });
    assert.equal(other.status, 409, JSON.stringify(other.body));

    const done = await waitForStatus(t, id, 'completed');
    assert.deepEqual(steps(done), [
      'points_held',
      'in_review',
      'review_decided',
      ...deliveredSteps.slice(1),
    ]);
    const decided = done.timeline.filter((s: { step: string }) => s.step === 'review_decided');
    assert.equal(decided.length, 1, 'decided once');
    assert.equal(decided[0].detail.decision, 'approved');
    assert.match(decided[0].detail.by, /^ops:/);
    assert.equal(decided[0].detail.reason, 'known customer');
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 1400,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.deepEqual(await stock(sku), { onHand: 4, reserved: 0 });
    const events = await programEvents(t, id);
    assert.ok(events.includes('redemption.held_for_review'), events.join());
    assert.equal(events.filter((e) => e === 'redemption.review_decided').length, 1);
  });

  it('rejected by ops: the points come back, the stock is untouched', async () => {
    await withPolicy({ reviewDeadline: '1 hour', reviewReminderBefore: '10 minutes' });
    const { sku, memberId, id } = await held();
    const res = await decide(id, { decision: 'reject', reason: 'farmed account' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const view = await waitForStatus(t, id, 'cancelled');
    assert.match(view.reason, /rejected in review by ops:.*farmed account/);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 2000,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.deepEqual(await stock(sku), { onHand: 5, reserved: 0 });
    const late = await decide(id, { decision: 'approve', reason: 'too late now' });
    assert.equal(late.status, 409, JSON.stringify(late.body));
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 2000,
      pending: 0,
      held: 0,
      debt: 0,
    });
  });

  it('undecided at the deadline, reviewOnTimeout reject: reminded, then refunded', async () => {
    await withPolicy({
      reviewDeadline: '3 seconds',
      reviewReminderBefore: '1 second',
      reviewOnTimeout: 'reject',
    });
    const { sku, memberId, id } = await held();
    const view = await waitForStatus(t, id, 'cancelled');
    assert.deepEqual(steps(view), [
      'points_held',
      'in_review',
      'review_reminded',
      'review_decided',
      'cancelled',
    ]);
    const decided = view.timeline.find((s: { step: string }) => s.step === 'review_decided');
    assert.equal(decided.detail.by, 'deadline');
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 2000,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.deepEqual(await stock(sku), { onHand: 5, reserved: 0 });
    assert.ok((await programEvents(t, id)).includes('redemption.review_reminder'));
  });

  it('undecided at the deadline, reviewOnTimeout release: fulfilled', async () => {
    await withPolicy({
      reviewDeadline: '3 seconds',
      reviewReminderBefore: '1 second',
      reviewOnTimeout: 'release',
    });
    const { sku, memberId, id } = await held();
    const done = await waitForStatus(t, id, 'completed');
    assert.deepEqual(steps(done).slice(0, 4), [
      'points_held',
      'in_review',
      'review_reminded',
      'review_decided',
    ]);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 1400,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.deepEqual(await stock(sku), { onHand: 4, reserved: 0 });
  });
});
