/**
 * The redemption's playbook: plan -> hold the points -> fulfil by kind -> redeem; or, on a
 * failure or a cancel before the point of no return, compensate in reverse order and say why.
 * Each step is written by the activity that does it, in the same transaction.
 */
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  patched,
} from '@temporalio/workflow';
import type { RedemptionPlan } from '../../domain/redemption';
import type { RedemptionState, RedemptionWorkflowInput } from '../shared';
import { postgres } from './activities';
import { issueCoupon, issueGiftCard } from './digital';
import { Cancelled, describe, failureType, Lost, Rejected } from './endings';
import { listen } from './handlers';
import { fulfilPhysical } from './physical';
import { awaitReview, inReviewStep, reviewPatch } from './review';
import { awaitReturnWindow, listenForReturns } from './return-window';
import { RedemptionRun, type StepSpec } from './run';

/** `lean`: runs since `redemption-lean-v3` upsert the status fewer times (see `RedemptionRun`). */
export async function playbook(
  input: RedemptionWorkflowInput,
  lean = false,
): Promise<RedemptionState> {
  const r = new RedemptionRun(input, lean);
  listen(r);
  listenForReturns(r);
  try {
    const plan = await postgres.planRedemption(input);
    r.state.plan = plan;
    r.checkCancelled();
    await hold(r, plan);
    r.checkCancelled();
    const before = await fulfil(r, plan);
    const redeemed = r.steps(...before, ['completed', { points: plan.points }]);
    await postgres.redeemPoints({ ...r.ids, steps: redeemed });
    r.shown(redeemed);
  } catch (err) {
    await end(r, err);
  }
  r.saga.commit(); // ended: a cancel still waiting is answered (too late, unless cancelled)
  r.publish();
  await awaitReturnWindow(r);
  await condition(allHandlersFinished);
  return r.state;
}

/**
 * Holds the points; a plan with review reasons also moves to `in_review` in the same transaction
 * (so `POST /redemptions` answers `in_review`) and waits there for a decision. Only such runs
 * take `redemption-review-v4`: the others' commands are unchanged.
 */
async function hold(r: RedemptionRun, plan: RedemptionPlan): Promise<void> {
  const review = plan.review?.reasons.length && patched(reviewPatch) ? plan.review : null;
  const held = r.steps(
    ['points_held', { points: plan.points, tier: plan.tier, priority: plan.priority }],
    ...(review ? [inReviewStep(review)] : []),
  );
  const overBudget = (review?.reasons ?? [])
    .filter((reason) => reason.source === 'budget')
    .map((reason) => String(reason.details.budget));
  await postgres.holdPoints({
    ...r.ids,
    points: plan.points,
    actor: r.input.actor,
    steps: held,
    ...(overBudget.length ? { overBudget } : {}),
  });
  r.saga.add('points released', () => postgres.releasePoints(r.ids));
  r.shown(held);
  if (review) await awaitReview(r, review);
}

/** Fulfils by kind; answers steps with no effect of their own, to write with the redemption. */
async function fulfil(r: RedemptionRun, plan: RedemptionPlan): Promise<StepSpec[]> {
  if (plan.kind === 'physical') return fulfilPhysical(r, plan);
  if (plan.kind === 'coupon') await issueCoupon(r);
  else await issueGiftCard(r, plan);
  return [];
}

/**
 * Failed, lost or cancelled: undo what was done and write the ending. Cancelled in Temporal (an
 * engineer, `temporal workflow cancel`): before the point of no return it undoes what was done,
 * as a cancel through the API does; after it there is nothing to undo, and the hold is left for
 * ops to settle. Compensation runs even while the workflow itself is being cancelled.
 */
async function end(r: RedemptionRun, err: unknown): Promise<void> {
  const { state } = r;
  const inTemporal = isCancellation(err);
  if (inTemporal && r.saga.committed) throw err;
  const rejected = err instanceof Rejected;
  const ending =
    inTemporal || rejected || err instanceof Cancelled
      ? 'cancelled'
      : err instanceof Lost
        ? 'lost'
        : 'failed';
  state.reason = inTemporal
    ? 'cancelled: the workflow was cancelled in Temporal'
    : rejected
      ? err.message
      : ending === 'cancelled'
        ? `cancelled by ${r.cancel!.actor}: ${r.cancel!.reason}`
        : describe(err);
  state.failureType = rejected
    ? 'ReviewRejected'
    : { cancelled: 'Cancelled', lost: 'Lost', failed: failureType(err) }[ending];
  await CancellationScope.nonCancellable(async () => {
    const undone = await r.saga.compensate();
    await r.record(ending, { reason: state.reason, failureType: state.failureType, undone });
    r.publish();
  });
  if (inTemporal) throw err;
}
