import type { AppConfig } from '../config';
import { createActivityMetrics, type ActivityMetrics } from './metrics';
import { expectSuccess, partnerClient } from './partner-http';

/**
 * The warehouse partner at `WAREHOUSE_URL`. The shipment id is the redemption id, so a retried
 * activity (even one whose first answer was lost) creates one shipment; the warehouse calls
 * `CALLBACK_BASE_URL/callbacks/warehouse` when it ships and when it delivers.
 */
export function createWarehouseActivities({
  config,
  metrics = createActivityMetrics(),
}: {
  config: Pick<AppConfig, 'WAREHOUSE_URL' | 'CALLBACK_BASE_URL'>;
  metrics?: ActivityMetrics;
}) {
  const callPartner = partnerClient('warehouse', metrics);
  return {
    async createShipment(input: {
      redemptionId: string;
      sku: string;
      quantity: number;
      priority: number;
    }): Promise<{ trackingNumber: string }> {
      const answer = await callPartner(
        'createShipment',
        new URL('/shipments', config.WAREHOUSE_URL).href,
        {
          method: 'POST',
          body: {
            shipmentId: input.redemptionId,
            sku: input.sku,
            quantity: input.quantity,
            priority: input.priority,
            callbackUrl: new URL('/callbacks/warehouse', config.CALLBACK_BASE_URL).href,
          },
        },
      );
      expectSuccess('the warehouse', answer);
      return { trackingNumber: String(answer.body.trackingNumber) };
    },

    /**
     * Asks the warehouse to drop a shipment not yet shipped. `cancelled: false` if it has left;
     * `found: false` if the warehouse never had it (nothing to drop, so nothing can ship).
     * Repeating it is harmless, so it is also how a lost `createShipment` answer is made safe.
     */
    async cancelShipment(input: {
      redemptionId: string;
    }): Promise<{ cancelled: boolean; found: boolean }> {
      const path = `/shipments/${encodeURIComponent(input.redemptionId)}/cancel`;
      // 404 (never had it) and 409 (it has left) are answers, not errors.
      const answer = await callPartner(
        'cancelShipment',
        new URL(path, config.WAREHOUSE_URL).href,
        { method: 'POST', body: {} },
        [404, 409],
      );
      if (answer.status === 404) return { cancelled: true, found: false };
      if (answer.status === 409) return { cancelled: false, found: true };
      expectSuccess('the warehouse', answer);
      return { cancelled: true, found: true };
    },
  };
}

export type WarehouseActivities = ReturnType<typeof createWarehouseActivities>;
