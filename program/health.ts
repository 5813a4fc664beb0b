/**
 * The programme-health snapshot: every figure at one moment, flows over a window (default: the
 * last 30 days, whole hours). Each part is read by its own module from the ledger and the
 * records; this one puts them together and says what window and moment they describe.
 */
import { ms } from '../domain/program';
import type { Db } from '../infra/db';
import { loadRuleSet } from '../ledger/programs';
import { memberFigures, type MemberFigures } from './members';
import {
  fulfilmentCost,
  giftCardFloats,
  lowStock,
  webhookFigures,
  type FloatFigure,
  type FulfilmentCost,
  type LowStock,
  type Money,
  type WebhookFigures,
} from './operations';
import {
  compactRollups,
  flowsOf,
  ledgerSums,
  liabilityOf,
  outstandingOf,
  ratesOf,
  type Outstanding,
  type PointFlows,
} from './points';
import { redemptionFigures, type RedemptionFigures } from './redemptions';
import type { Window } from './window';

export interface HealthSettings {
  /** Cost of one point, per currency (config POINT_COST). */
  pointCost: Record<string, number>;
  /** Shipping cost of one physical redemption, per currency (config SHIPPING_COST). */
  shippingCost: Record<string, number>;
  /** Days of issuing that make a gift-card provider's burn rate (config FLOAT_BURN_DAYS). */
  floatBurnDays: number;
}

export interface HealthSnapshot {
  asOf: string;
  window: { from: string; to: string };
  members: MemberFigures;
  points: {
    outstanding: Outstanding;
    liability: (Money & { costPerPoint: number })[];
    window: PointFlows;
    allTime: PointFlows;
    /** expired / issued over the window; null when nothing was issued. */
    breakageRate: number | null;
    /** redeemed / issued over the window; null when nothing was issued. */
    redemptionRate: number | null;
  };
  redemptions: RedemptionFigures & {
    serviceRecovery: { credits: number; points: number };
  };
  fulfilment: { shippingCostPerRedemption: Money[]; cost: FulfilmentCost[] };
  giftCardFloat: FloatFigure[];
  stock: { atOrUnderThreshold: number; rewards: LowStock[] };
  webhooks: WebhookFigures;
}

/** Rewards listed under `stock.rewards` at most (the count covers them all). */
const lowStockListed = 50;

export async function healthSnapshot(
  db: Db,
  settings: HealthSettings,
  window: Window,
  asOf: Date = new Date(),
): Promise<HealthSnapshot> {
  await compactRollups(db);
  // Programme-wide figures: the general version's policy (a soft launch's cohort aside).
  const { program } = await loadRuleSet(db);
  const [members, sums, redemptions, cost, floats, stock, webhooks] = await Promise.all([
    memberFigures(
      db,
      window,
      program.tiers.map((t) => t.name),
    ),
    ledgerSums(db, window),
    redemptionFigures(db, window, asOf, ms(program.redemption.deliverySla)),
    fulfilmentCost(db, window, settings.shippingCost),
    giftCardFloats(db, asOf, settings.floatBurnDays),
    lowStock(db),
    webhookFigures(db),
  ]);
  const outstanding = outstandingOf(sums.allTime);
  const flows = flowsOf(sums.window);
  return {
    asOf: asOf.toISOString(),
    window: { from: window.from.toISOString(), to: window.to.toISOString() },
    members,
    points: {
      outstanding,
      liability: liabilityOf(outstanding, settings.pointCost).map((l) => ({
        amount: l.amount,
        currency: l.currency,
        costPerPoint: l.costPerPoint,
      })),
      window: flows,
      allTime: flowsOf(sums.allTime),
      ...ratesOf(flows),
    },
    redemptions: {
      ...redemptions,
      serviceRecovery: {
        credits: flows.serviceRecoveryCredits,
        points: flows.adjustments.serviceRecovery,
      },
    },
    fulfilment: {
      shippingCostPerRedemption: Object.entries(settings.shippingCost).map(
        ([currency, amount]) => ({
          amount,
          currency,
        }),
      ),
      cost,
    },
    giftCardFloat: floats,
    stock: { atOrUnderThreshold: stock.length, rewards: stock.slice(0, lowStockListed) },
    webhooks,
  };
}
