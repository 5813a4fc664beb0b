/**
 * `atLimit: holdForApproval` on the real stack: a reward budget at its limit holds the next
 * redemption `in_review` with the budget as its reason (its unit taken past the limit with the
 * hold); approved, it completes and the budget counts it (one over the limit, by that approval);
 * rejected, the points come back and so does the unit. Budgets are programme-wide, so the file
 * has a database of its own; each test has a reward (and a budget) of its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { periodOf } from '../domain/budgets';
import { startTestContext, type TestContext } from './support/context';
import { freshDatabase } from './support/database';
import { balanceOf, publishProgram } from './support/ledger';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';

describe('budgets held for approval', () => {
  let t: TestContext;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  before(async () => {
    database = await freshDatabase('budgets_hold');
    t = await startTestContext('budgets-hold', { DATABASE_URL: database.url }, { partners: {} });
  });
  after(async () => {
    await t.stop();
    await database.drop();
  });

  const used = async (budget: string): Promise<number> => {
    const { rows } = await t.db.raw<{ rows: { used: string }[] }>(
      'SELECT coalesce(sum(used), 0) AS used FROM budget_slots WHERE budget = ? AND period = ?',
      [budget, periodOf(new Date(), 'day', 'UTC')],
    );
    return Number(rows[0]!.used);
  };

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON under test
  const figure = async (budget: string): Promise<any> => {
    const res = await t.api('GET', '/program/budgets', { key: t.keys.readonly });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body.budgets as { budget: string }[]).find((b) => b.budget === budget);
  };

  const decide = (id: string, decision: 'approve' | 'reject', reason: string) =>
    t.api('POST', `/redemptions/${id}/review`, {
      key: t.keys.ops,
      body: { decision, reason },
      headers: { 'Idempotency-Key': `review-${id}` },
    });

  /** A coupon reward with a budget of one a day, used up; then the next redemption is held. */
  async function heldAtLimit() {
    const rewardId = await createReward(t, {
      kind: 'coupon',
      pointsCost: 100,
      codes: [`C-${randomUUID()}`, `C-${randomUUID()}`],
    });
    const key = `reward.${rewardId}.day`;
    await publishProgram(t, {
      ...redemptionProgram,
      budgets: { rewards: { [rewardId]: { perDay: { limit: 1, atLimit: 'holdForApproval' } } } },
    });
    const memberId = await memberWithPoints(t, 1000);
    const first = await redeem(t, { memberId, rewardId, redemptionId: randomUUID() });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.notEqual(first.body.status, 'in_review', 'under the limit: not held');
    await waitForStatus(t, first.body.redemptionId, 'completed');
    assert.equal(await used(key), 1);

    const next = await redeem(t, { memberId, rewardId, redemptionId: randomUUID() });
    assert.equal(next.status, 201, JSON.stringify(next.body));
    assert.equal(next.body.status, 'in_review', JSON.stringify(next.body));
    const id = next.body.redemptionId as string;
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 800,
      pending: 0,
      held: 100,
      debt: 0,
    });
    const queue = await t.api('GET', '/reviews', { key: t.keys.readonly });
    assert.equal(queue.status, 200, JSON.stringify(queue.body));
    const mine = queue.body.reviews.find((r: { redemptionId: string }) => r.redemptionId === id);
    assert.ok(mine, 'listed for review');
    assert.equal(mine.reasons[0].source, 'budget');
    assert.equal(mine.reasons[0].details.budget, key);
    assert.equal(mine.reasons[0].details.atLimit, 'holdForApproval');
    assert.equal(await used(key), 2, 'its unit is taken past the limit with the hold');
    return { rewardId, key, memberId, id };
  }

  it('approved: completes, and the budget counts it, one over its limit', async () => {
    const { key, memberId, id } = await heldAtLimit();
    const res = await decide(id, 'approve', 'campaign extended by marketing');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await waitForStatus(t, id, 'completed');
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 800,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.equal(await used(key), 2);
    const f = await figure(key);
    assert.deepEqual([f.used, f.limit, f.state, f.percent], [2, 1, 'exhausted', 200]);
  });

  it('rejected: the points and the budget unit are given back', async () => {
    const { key, memberId, id } = await heldAtLimit();
    const res = await decide(id, 'reject', 'over budget this week');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const view = await waitForStatus(t, id, 'cancelled');
    assert.match(view.reason, /rejected in review by ops:.*over budget this week/);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 900,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.equal(await used(key), 1, 'the unit taken with the hold is given back');
    const take = await t
      .db('budget_takes')
      .where({ source: `redemption:${id}` })
      .first();
    assert.notEqual(take.given_back_at, null);
  });
});
