/** What the console tests set up through the API: a program, rewards and redemptions. */
import type { TestContext } from '../support/context';
import { enrol, post, publishProgram, purchase } from '../support/ledger';
import type { RedemptionStatus } from '../../domain/redemption';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from '../support/redemptions';
import assert from 'node:assert/strict';

/** Fast partners, and backorders that wait long enough to be cancelled in the console. */
export const consoleProgram = {
  ...redemptionProgram,
  redemption: {
    ...redemptionProgram.redemption,
    deliverySla: '1 hour',
    backorderFor: '10 minutes',
  },
};

export async function usePrograms(t: TestContext): Promise<void> {
  await publishProgram(t, consoleProgram);
}

/** A redemption through the API that ends delivered and completed; answers its final view. */
export async function completedRedemption(t: TestContext) {
  const rewardId = await createReward(t, { pointsCost: 200, onHand: 5 });
  const memberId = await memberWithPoints(t, 1000);
  const res = await redeem(t, { memberId, rewardId });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const id = res.body.redemptionId as string;
  return { id, rewardId, memberId, view: await waitForStatus(t, id, 'completed') };
}

/** A redemption waiting for stock (backordered): it can still be cancelled. */
export async function backorderedRedemption(t: TestContext) {
  const rewardId = await createReward(t, { pointsCost: 100, onHand: 0 });
  const memberId = await memberWithPoints(t, 500);
  const res = await redeem(t, { memberId, rewardId, backorder: true });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const id = res.body.redemptionId as string;
  await waitForStatus(t, id, 'backordered');
  return { id, rewardId, memberId };
}

/**
 * For the README's screenshot of the queue: rewards with readable names and redemptions of each
 * kind and outcome (a Gold member's among them), added after the tests' own.
 */
export async function seedQueueForDocs(t: TestContext): Promise<void> {
  const reward = async (id: string, name: string, kind: string, extra: object = {}) => {
    const body = { id, name, kind, category: 'lifestyle', currency: 'EUR', pointsCost: 300 };
    const res = await t.api('POST', '/rewards', { body: { ...body, cashValue: 30, ...extra } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  };
  const stock = (onHand: number) => ({ inventory: { onHand, threshold: 0 } });
  await reward('wireless-headphones', 'Wireless headphones', 'physical', stock(10));
  await reward('espresso-machine', 'Espresso machine', 'physical', stock(0));
  await reward('garden-chair', 'Garden chair', 'physical', stock(0));
  await reward('travel-mug', 'Travel mug', 'physical', stock(10));
  await reward('cinema-voucher', 'Cinema voucher', 'gift_card', {
    provider: 'giftco',
    denomination: 25,
  });
  await reward('spa-day', 'Spa day', 'coupon');
  const codes = await t.api('POST', '/rewards/spa-day/coupons', {
    body: { codes: ['SPA-7Q4M-2KX9'] },
  });
  assert.equal(codes.status, 200, JSON.stringify(codes.body));

  const gold = await enrol(t);
  const bought = await post(t, purchase(gold, [{ sku: 'tv', amount: 2500 }]));
  assert.equal(bought.body.tier, 'Gold', JSON.stringify(bought.body));
  const member = await memberWithPoints(t, 1000);
  const made = async (
    memberId: string,
    rewardId: string,
    status: RedemptionStatus,
    backorder = false,
  ) => {
    const res = await redeem(t, { memberId, rewardId, backorder });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await waitForStatus(t, res.body.redemptionId as string, status);
  };
  await made(gold, 'wireless-headphones', 'completed');
  await made(member, 'cinema-voucher', 'completed');
  await made(gold, 'espresso-machine', 'backordered', true);
  await made(member, 'garden-chair', 'failed');
  await made(gold, 'spa-day', 'completed');
  t.partners!.warehouse.pause(); // the mug waits for the warehouse
  await made(member, 'travel-mug', 'shipment_requested');
}
