import { assignCoupon } from '../catalog/coupons';
import { releaseStock, reserveStock, returnStock, shipStock } from '../catalog/inventory';
import type { Db } from '../infra/db';
import { refusalsAsFailures } from './refusals';

/**
 * Stock and coupon codes in Postgres, by redemption id: reserving twice reserves once, releasing
 * or shipping twice changes nothing the second time. Out of stock is an answer, not an error, so
 * the workflow can decide (substitute, or fail and give the points back). A catalog refusal (an
 * unknown SKU, a reservation in another state) fails the activity for good: retrying cannot help.
 */
export function createInventoryActivities({ db }: { db: Db }) {
  return refusalsAsFailures({
    reserveStock: (input: { redemptionId: string; sku: string; quantity: number }) =>
      reserveStock(db, input),
    releaseStock: async (input: { redemptionId: string }): Promise<void> => {
      await releaseStock(db, input);
    },
    shipStock: async (input: { redemptionId: string }): Promise<void> => {
      await shipStock(db, input);
    },
    returnStock: async (input: { redemptionId: string }): Promise<void> => {
      await returnStock(db, input);
    },
    assignCoupon: (input: { redemptionId: string; rewardId: string }) => assignCoupon(db, input),
  });
}

export type InventoryActivities = ReturnType<typeof createInventoryActivities>;
