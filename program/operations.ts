/**
 * What fulfilment costs and what keeps it going: the cost of redemptions fulfilled, gift-card
 * float and how long it lasts, stock at or under its threshold, webhook subscriptions in trouble.
 */
import type { Db } from '../infra/db';
import type { Window } from './window';

export interface Money {
  amount: number;
  currency: string;
}

const money = (amount: number, currency: string): Money => ({
  amount: Math.round(amount * 100) / 100,
  currency,
});

export interface FulfilmentCost {
  currency: string;
  /** Redemptions fulfilled in the window (shipped, or gift card or code issued). */
  redemptions: number;
  /** The rewards' cash value (the reward actually sent, after a substitution). */
  rewardValue: Money;
  /** The configured shipping cost, once per physical redemption shipped. */
  shipping: Money;
  total: Money;
  perRedemption: Money;
}

/** Per currency of the rewards, for redemptions fulfilled (shipped or issued) in the window. */
export async function fulfilmentCost(
  db: Db,
  window: Window,
  shippingCost: Record<string, number>,
): Promise<FulfilmentCost[]> {
  const { rows } = await db.raw<{
    rows: { currency: string; n: number; value: number; shipped: number }[];
  }>(
    `SELECT w.currency, count(*)::bigint AS n, sum(w.cash_value * r.quantity)::float8 AS value,
       count(*) FILTER (WHERE f.step = 'shipped')::bigint AS shipped
     FROM (SELECT DISTINCT ON (redemption_id) redemption_id, step FROM redemption_steps
           WHERE step IN ('shipped', 'issued') AND at >= :from AND at < :to
           ORDER BY redemption_id, at) f
     JOIN redemptions r ON r.id = f.redemption_id
     LEFT JOIN stock_reservations sr ON sr.redemption_id = r.id
     JOIN rewards w ON w.id = coalesce(sr.sku, r.reward_id)
     GROUP BY w.currency ORDER BY w.currency`,
    { from: window.from, to: window.to },
  );
  return rows.map((row) => {
    const shipping = row.shipped * (shippingCost[row.currency] ?? 0);
    const total = row.value + shipping;
    return {
      currency: row.currency,
      redemptions: row.n,
      rewardValue: money(row.value, row.currency),
      shipping: money(shipping, row.currency),
      total: money(total, row.currency),
      perRedemption: money(total / row.n, row.currency),
    };
  });
}

export interface FloatFigure {
  provider: string;
  /** As the provider last reported it; currency null until it names one. */
  balance: { amount: number; currency: string | null };
  low: boolean;
  reportedAt: string;
  /** Face value of cards issued per day, averaged over the burn window. */
  burnPerDay: number;
  /** balance / burnPerDay; null when nothing was issued in the burn window. */
  daysLeft: number | null;
}

export async function giftCardFloats(db: Db, asOf: Date, burnDays: number): Promise<FloatFigure[]> {
  const { rows } = await db.raw<{
    rows: {
      provider: string;
      balance: number;
      currency: string | null;
      low_since: Date | null;
      updated_at: Date;
      issued: number;
    }[];
  }>(
    `SELECT f.provider, f.balance, f.currency, f.low_since, f.updated_at,
       coalesce((SELECT sum(g.denomination) FROM gift_cards g WHERE g.provider = f.provider
         AND g.issued_at >= :since AND g.issued_at < :asOf), 0)::float8 AS issued
     FROM giftcard_floats f ORDER BY f.provider`,
    { since: new Date(asOf.getTime() - burnDays * 86_400_000), asOf },
  );
  return rows.map((row) => {
    const burnPerDay = row.issued / burnDays;
    return {
      provider: row.provider,
      balance: { amount: row.balance, currency: row.currency },
      low: row.low_since !== null,
      reportedAt: row.updated_at.toISOString(),
      burnPerDay: Math.round(burnPerDay * 100) / 100,
      daysLeft: burnPerDay > 0 ? Math.round((row.balance / burnPerDay) * 10) / 10 : null,
    };
  });
}

export interface LowStock {
  sku: string;
  name: string;
  available: number;
  threshold: number;
}

/** Active physical rewards whose available stock is at or under their threshold. */
export async function lowStock(db: Db): Promise<LowStock[]> {
  const { rows } = await db.raw<{ rows: LowStock[] }>(
    `SELECT i.sku, w.name, i.available, i.threshold FROM inventory i
     JOIN rewards w ON w.id = i.sku
     WHERE w.active AND i.available <= i.threshold ORDER BY i.available - i.threshold, i.sku`,
  );
  return rows;
}

export interface WebhookFigures {
  /** Enabled subscriptions with a delivery being retried after a failed attempt. */
  failing: number;
  /** Disabled subscriptions (by their owner, or after a delivery failed for good). */
  disabled: number;
}

export async function webhookFigures(db: Db): Promise<WebhookFigures> {
  const { rows } = await db.raw<{ rows: WebhookFigures[] }>(
    `SELECT count(*) FILTER (WHERE s.status = 'enabled' AND EXISTS (
         SELECT 1 FROM webhook_deliveries d WHERE d.subscription_id = s.id
           AND d.status = 'pending' AND d.attempts > 0))::int AS failing,
       count(*) FILTER (WHERE s.status = 'disabled')::int AS disabled
     FROM webhook_subscriptions s`,
  );
  return rows[0]!;
}
