import { assignCoupon } from '../catalog/coupons';
import { releaseStock, reserveStock, returnStock, shipStock } from '../catalog/inventory';
import type { Db } from '../infra/db';
import { withSteps, type StepInput } from '../redemptions/records';
import { refusalsAsFailures } from './refusals';

/**
 * Stock and coupon codes in Postgres, by redemption id: reserving twice reserves once, releasing
 * or shipping twice changes nothing the second time. Out of stock is an answer, not an error, so
 * the workflow can decide (substitute, or fail and give the points back). Given `steps`, a
 * reservation, a shipment or a code writes its timeline steps in its own transaction (none when
 * out of stock; an assigned code's steps name the code). A catalog refusal (an unknown SKU, a
 * reservation in another state) fails the activity for good: retrying cannot help.
 */
export function createInventoryActivities({ db }: { db: Db }) {
  return refusalsAsFailures({
    reserveStock: async (input: {
      redemptionId: string;
      sku: string;
      quantity: number;
      steps?: StepInput[];
    }) => {
      const { steps = [], ...reservation } = input;
      const { result } = await withSteps(
        db,
        (trx) => reserveStock(trx, reservation),
        (stock) => (stock.status === 'reserved' ? steps : []),
      );
      return result;
    },
    releaseStock: async (input: { redemptionId: string }): Promise<void> => {
      await releaseStock(db, input);
    },
    shipStock: async (input: { redemptionId: string; steps?: StepInput[] }): Promise<void> => {
      await withSteps(
        db,
        (trx) => shipStock(trx, { redemptionId: input.redemptionId }),
        () => input.steps ?? [],
      );
    },
    returnStock: async (input: { redemptionId: string }): Promise<void> => {
      await returnStock(db, input);
    },
    assignCoupon: async (input: {
      redemptionId: string;
      rewardId: string;
      steps?: StepInput[];
    }) => {
      const { steps = [], ...request } = input;
      const { result } = await withSteps(
        db,
        (trx) => assignCoupon(trx, request),
        (coupon) =>
          coupon.status === 'assigned'
            ? steps.map((s) => ({ ...s, step: { ...s.step, detail: { coupon: coupon.code } } }))
            : [],
      );
      return result;
    },
  });
}

export type InventoryActivities = ReturnType<typeof createInventoryActivities>;
