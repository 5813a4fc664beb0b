/**
 * The redemption's messages: the `redemptionState` query, the `held` update (answered once the
 * hold is written, or the redemption refused), the `cancelRedemption` update (refused by its
 * validator past the point of no return; answered once the cancel is done, or too late), and the
 * warehouse's `shipmentEvent` signal, and the `reviewRedemption` update (ops' review decision).
 */
import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import { cancellableStatuses, finalStatuses, type ReviewDecision } from '../../domain/redemption';
import {
  cancelRedemptionUpdate,
  heldUpdate,
  reviewRedemptionUpdate,
  redemptionStateQuery,
  shipmentEventSignal,
  type HeldOutcome,
} from '../shared';
import { notInReview, tooLate } from './endings';
import type { RedemptionRun } from './run';

export function listen(r: RedemptionRun): void {
  const { state, saga } = r;
  setHandler(redemptionStateQuery, () => state);
  setHandler(heldUpdate, async (): Promise<HeldOutcome> => {
    const held = () => state.timeline.find((step) => step.status === 'points_held');
    // An ending is answered once written, so Postgres already says what the answer says.
    await condition(() => held() !== undefined || finalStatuses.includes(state.status));
    const step = held();
    if (step) {
      const { points, tier } = step.detail as { points: number; tier: string };
      return { outcome: 'held', status: state.status, points, tier };
    }
    return {
      outcome: 'refused',
      status: state.status,
      reason: state.reason ?? state.status,
      failureType: state.failureType ?? 'Failed',
    };
  });
  setHandler(
    cancelRedemptionUpdate,
    async (request) => {
      r.cancel ??= request;
      await condition(() => state.status === 'cancelled' || saga.committed);
      if (state.status !== 'cancelled') throw tooLate(state.status);
      return state;
    },
    {
      validator: (_request) => {
        if (!cancellableStatuses.includes(state.status) || saga.committed)
          throw tooLate(state.status);
      },
    },
  );
  setHandler(
    reviewRedemptionUpdate,
    async (request) => {
      r.review ??= request;
      await condition(() => r.reviewDecided || finalStatuses.includes(state.status));
      return state;
    },
    { validator: (request: ReviewDecision) => reviewRefusal(r, request) },
  );
  setHandler(shipmentEventSignal, (event) => {
    if (event.type === 'shipment.shipped') r.shipped = true;
    if (event.type === 'shipment.delivered') r.shipped = r.delivered = true;
    if (event.trackingNumber) state.shipment ??= { trackingNumber: event.trackingNumber };
  });
}

/** A review decision the validator refuses (nothing recorded): wrong state, role or input. */
function reviewRefusal(r: RedemptionRun, request: ReviewDecision): void {
  if (r.state.status !== 'in_review' || r.review || r.cancel) throw notInReview(r.state.status);
  const role = request.actor.split(':')[0];
  if (role !== 'ops' && role !== 'admin') {
    throw ApplicationFailure.nonRetryable('Only ops or admin decide a review.', 'Forbidden');
  }
  if (request.decision !== 'approve' && request.decision !== 'reject') {
    throw ApplicationFailure.nonRetryable('decision must be approve or reject.', 'InvalidReview');
  }
  if (typeof request.reason !== 'string' || request.reason.trim().length < 3) {
    throw ApplicationFailure.nonRetryable('A reason is required.', 'InvalidReview');
  }
}
