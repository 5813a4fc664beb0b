/** What the console tests set up through the API: a program, rewards and redemptions. */
import type { TestContext } from '../support/context';
import { publishProgram } from '../support/ledger';
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
