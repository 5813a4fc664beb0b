/**
 * The redemption's messages: the `redemptionState` query, the `held` update (answered once the
 * hold is written, or the redemption refused), the `cancelRedemption` update (refused by its
 * validator past the point of no return; answered once the cancel is done, or too late), and the
 * warehouse's `shipmentEvent` signal.
 */
import { condition, setHandler } from '@temporalio/workflow';
import { cancellableStatuses, finalStatuses } from '../../domain/redemption';
import {
  cancelRedemptionUpdate,
  heldUpdate,
  redemptionStateQuery,
  shipmentEventSignal,
  type HeldOutcome,
} from '../shared';
import { tooLate } from './endings';
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
  setHandler(shipmentEventSignal, (event) => {
    if (event.type === 'shipment.shipped') r.shipped = true;
    if (event.type === 'shipment.delivered') r.shipped = r.delivered = true;
    if (event.trackingNumber) state.shipment ??= { trackingNumber: event.trackingNumber };
  });
}
