/**
 * The redemption's messages: the `redemptionState` query, the `cancelRedemption` update (refused
 * by its validator past the point of no return; answered once the cancel is done, or too late),
 * and the warehouse's `shipmentEvent` signal.
 */
import { condition, setHandler } from '@temporalio/workflow';
import { cancellableStatuses } from '../../domain/redemption';
import { cancelRedemptionUpdate, redemptionStateQuery, shipmentEventSignal } from '../shared';
import { tooLate } from './endings';
import type { RedemptionRun } from './run';

export function listen(r: RedemptionRun): void {
  const { state, saga } = r;
  setHandler(redemptionStateQuery, () => state);
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
