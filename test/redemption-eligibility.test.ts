/**
 * The program's redemption limits, through the API: per-member caps a day and a month, and the
 * review threshold (held for review, not refused: test/redemption-review.test.ts). A refusal is
 * an immediate 422 that says why and changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProgramInput } from '../domain/program';
import { startTestContext, type ApiResponse, type TestContext } from './support/context';
import { balanceOf, publishProgram } from './support/ledger';
import {
  createReward,
  inventoryOf,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';

let t: TestContext;

const withPolicy = (policy: Record<string, number>) =>
  publishProgram(t, {
    ...redemptionProgram,
    redemption: { ...redemptionProgram.redemption!, ...policy },
  });

/** What a refusal must leave alone: the member's balance, the stock and the redemption rows. */
async function snapshot(memberId: string, sku: string) {
  const rows = await t
    .db('redemptions')
    .where({ member_id: memberId })
    .count<{ n: string }[]>('* as n');
  return {
    balance: await balanceOf(t, memberId),
    stock: await inventoryOf(t, sku),
    redemptions: Number(rows[0]!.n),
  };
}

function assertRefused(res: ApiResponse, field: string, message: RegExp) {
  assert.equal(res.status, 422, JSON.stringify(res.body));
  assert.equal(res.body.reason, 'NotEligible');
  assert.match(res.body.detail, message);
  assert.deepEqual(
    res.body.errors.map((e: { field: string }) => e.field),
    [field],
  );
}

describe('redemption caps and the anomaly hold', () => {
  let inForce: ProgramInput;
  before(async () => {
    t = await startTestContext('redemption-eligibility', {}, { partners: {} });
    inForce = (await t.api('GET', '/rule-sets/active')).body.program as ProgramInput;
  });
  after(async () => {
    await publishProgram(t, inForce); // the caps end with this file
    await t.stop();
  });

  it('perDay: the third redemption of the day is refused; a failed one does not count', async () => {
    await withPolicy({ perDay: 2 });
    const sku = await createReward(t, { pointsCost: 100, onHand: 5 });
    const none = await createReward(t, { pointsCost: 100, onHand: 0 });
    const memberId = await memberWithPoints(t, 1000);
    const failed = await redeem(t, { memberId, rewardId: none });
    assert.equal(failed.status, 201, JSON.stringify(failed.body));
    await waitForStatus(t, failed.body.redemptionId as string, 'failed');
    for (let i = 0; i < 2; i++) {
      const res = await redeem(t, { memberId, rewardId: sku });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      await waitForStatus(t, res.body.redemptionId as string, 'completed');
    }
    const before = await snapshot(memberId, sku);
    assert.equal(before.balance.available, 800);

    const refused = await redeem(t, { memberId, rewardId: sku });
    assertRefused(refused, 'memberId', /at most 2 redemptions a day/);
    assert.deepEqual(await snapshot(memberId, sku), before, 'nothing changed');
    const other = await memberWithPoints(t, 1000);
    assert.equal((await redeem(t, { memberId: other, rewardId: sku })).status, 201, 'per member');
  });

  it('perMonth: past the month’s cap it is refused', async () => {
    await withPolicy({ perMonth: 1 });
    const sku = await createReward(t, { pointsCost: 100, onHand: 5 });
    const memberId = await memberWithPoints(t, 1000);
    const first = await redeem(t, { memberId, rewardId: sku });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    await waitForStatus(t, first.body.redemptionId as string, 'completed');
    const before = await snapshot(memberId, sku);

    const refused = await redeem(t, { memberId, rewardId: sku });
    assertRefused(refused, 'memberId', /at most 1 redemptions a month/);
    assert.deepEqual(await snapshot(memberId, sku), before, 'nothing changed');
  });

  it('reviewAbovePoints: a redemption costing more is held for review; at the threshold it goes', async () => {
    await withPolicy({ reviewAbovePoints: 500 });
    const dear = await createReward(t, { pointsCost: 600, onHand: 5 });
    const half = await createReward(t, { pointsCost: 300, onHand: 5 });
    const memberId = await memberWithPoints(t, 2000);
    const before = await snapshot(memberId, dear);

    const dearOne = await redeem(t, { memberId, rewardId: dear });
    assert.equal(dearOne.status, 201, JSON.stringify(dearOne.body));
    assert.equal(dearOne.body.status, 'in_review', 'held for review, not refused');
    const two = await redeem(t, { memberId, rewardId: half, quantity: 2 });
    assert.equal(two.body.status, 'in_review', JSON.stringify(two.body));
    assert.equal((await balanceOf(t, memberId)).held, 1200, 'both held');
    assert.deepEqual((await inventoryOf(t, half)).reserved, 0);
    for (const id of [dearOne.body.redemptionId, two.body.redemptionId] as string[]) {
      const res = await t.api('POST', `/redemptions/${id}/review`, {
        key: t.keys.ops,
        body: { decision: 'reject', reason: 'test: not this time' },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      await waitForStatus(t, id, 'cancelled');
    }
    assert.deepEqual((await snapshot(memberId, dear)).balance, before.balance, 'points back');

    const atThreshold = await createReward(t, { pointsCost: 500, onHand: 5 });
    const ok = await redeem(t, { memberId, rewardId: atThreshold });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    await waitForStatus(t, ok.body.redemptionId as string, 'completed');
    assert.equal((await balanceOf(t, memberId)).available, 1500);
  });
});
