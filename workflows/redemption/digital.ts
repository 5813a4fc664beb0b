/**
 * Rewards issued rather than shipped: a coupon code from the reward's pool, or a gift card from
 * its provider. Issuing is the point of no return.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import type { RedemptionPlan } from '../../domain/redemption';
import { partners, postgres, undoing } from './activities';
import { answeredNo } from './endings';
import type { RedemptionRun } from './run';

/** A free code of the reward, with its `issued` step, in one transaction; none left: `OutOfStock`. */
export async function issueCoupon(r: RedemptionRun): Promise<void> {
  const issued = r.steps(['issued']);
  const coupon = await postgres.assignCoupon({
    ...r.ids,
    rewardId: r.input.rewardId,
    steps: issued,
  });
  if (coupon.status !== 'assigned') {
    throw ApplicationFailure.nonRetryable(`No codes left for ${r.input.rewardId}.`, 'OutOfStock');
  }
  r.saga.commit();
  r.state.coupon = { code: coupon.code };
  r.shown(issued, { coupon: coupon.code });
}

/** The provider issues the card (kept with its `issued` step); a lost answer is voided. */
export async function issueGiftCard(r: RedemptionRun, plan: RedemptionPlan): Promise<void> {
  const giftCard = plan.giftCard!;
  // Before the call: if the retries run out the provider may have issued the card all the
  // same; voiding by the same key undoes it (and closes the key), and is harmless if not.
  r.saga.add('gift card voided', async () => {
    return (await undoing(plan.partnerRetry).voidGiftCard({ ...r.ids, ...giftCard })).voided;
  });
  const issued = r.steps(['issued']);
  r.publishInFlight();
  const card = await partners(plan.partnerRetry)
    .issueGiftCard({ ...r.ids, ...giftCard, steps: issued })
    .catch((err: unknown) => {
      // No answer: the card may have been kept with its step before the answer was lost.
      if (!answeredNo(err)) r.mayHaveWritten(issued);
      throw err;
    });
  r.saga.commit();
  r.state.giftCard = { cardId: card.cardId, code: card.code };
  r.shown(issued, { cardId: card.cardId, floatBalance: card.floatBalance });
}
