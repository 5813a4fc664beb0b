/**
 * The review hold: a redemption whose plan gives reasons waits in `in_review`, its points held,
 * for ops to approve or reject (the `reviewRedemption` update). Ops are reminded before the
 * deadline; at the deadline the programme's `reviewOnTimeout` decides. Approved, fulfilment goes
 * on; rejected, the playbook's undo list releases the hold (no stock was taken yet).
 */
import { condition } from '@temporalio/workflow';
import type { ReviewDecision, ReviewHold } from '../../domain/redemption';
import { humanDuration, Rejected } from './endings';
import type { RedemptionRun, StepSpec } from './run';

/** Marks runs that hold for review instead of refusing (taken only by runs with reasons). */
export const reviewPatch = 'redemption-review-v4';

/** The `in_review` step, written with the hold: why, and until when. */
export function inReviewStep(review: ReviewHold): StepSpec {
  const deadlineAt = new Date(Date.now() + review.deadlineMs).toISOString();
  return ['in_review', { reasons: review.reasons, deadlineAt, onTimeout: review.onTimeout }];
}

export async function awaitReview(r: RedemptionRun, review: ReviewHold): Promise<void> {
  r.publish(); // a wait a person acts on: the status is searchable in Temporal
  const asked = () => r.review !== null || r.cancel !== null;
  const untilReminder = Math.max(1, review.deadlineMs - review.reminderMs);
  if (!(await condition(asked, untilReminder))) {
    const deadlineAt = new Date(Date.now() + review.deadlineMs - untilReminder).toISOString();
    await r.record('review_reminded', { deadlineAt, reasons: review.reasons.length });
    await condition(asked, Math.max(1, Math.min(review.reminderMs, review.deadlineMs)));
  }
  r.checkCancelled();
  const decision: ReviewDecision = r.review ?? {
    decision: review.onTimeout === 'release' ? 'approve' : 'reject',
    actor: 'deadline',
    reason: `no decision within ${humanDuration(review.deadlineMs)} (reviewOnTimeout: ${review.onTimeout})`,
  };
  r.review = decision; // no later decision is taken
  const { actor: by, reason } = decision;
  if (decision.decision === 'approve') {
    await r.record('review_decided', { decision: 'approved', by, reason }, 'points_held');
    r.reviewDecided = true;
    r.publish();
    return;
  }
  await r.record('review_decided', { decision: 'rejected', by, reason });
  r.reviewDecided = true;
  throw new Rejected(`rejected in review by ${by}: ${reason}`);
}
