/**
 * Redemption budgets (per reward) and gift-card spend, counted in the transaction that places the
 * redemption's hold, and given back in the one that releases it or refunds its return.
 *
 * One row per budget and period (slot 0), taken with a conditional UPDATE (`used + n <= limit`):
 * two redemptions cannot both take the last unit, the second finds the row full and is refused.
 * No escrow here: a redemption is a workflow, hundreds a second at most, and only redemptions of
 * the same reward (or gift cards of one currency) meet on a row, for one short statement.
 * `budget_takes` records what each redemption took and in which period, so the give-back is
 * exact and once, whichever period it happens in.
 */
import {
  budgetRules,
  fromMinor,
  periodOf,
  toMinor,
  type BudgetRule,
  type Budgets,
} from '../domain/budgets';
import { Refusal, RefusalKind } from '../domain/refusal';
import type { Db, Trx } from '../infra/db';
import { budgetTimeZone } from './settings';
import { recordCrossings } from './warnings';

export interface RedemptionUnits {
  rewardId: string;
  quantity: number;
  /** The reward's campaign tag, if any. */
  campaign: string | null;
  /** Gift cards: face value and currency of one card. */
  giftCard: { denomination: number; currency: string } | null;
}

/** The budgets a redemption counts against, and how many units it takes from each. */
export function redemptionTakes(budgets: Budgets | undefined, r: RedemptionUnits) {
  return budgetRules(budgets).flatMap((rule): { rule: BudgetRule; units: number }[] => {
    if (rule.kind === 'redemptions' && rule.rewardId === r.rewardId)
      return [{ rule, units: r.quantity }];
    if (rule.kind === 'campaignRedemptions' && r.campaign && rule.campaign === r.campaign)
      return [{ rule, units: r.quantity }];
    if (rule.kind === 'giftCardSpend' && r.giftCard && rule.currency === r.giftCard.currency)
      return [{ rule, units: toMinor(r.giftCard.denomination) * r.quantity }];
    return [];
  });
}

export function budgetExhausted(rule: BudgetRule, used: number, units: number): Refusal {
  const money = rule.kind === 'giftCardSpend';
  const show = (n: number) => (money ? `${fromMinor(n)} ${rule.currency}` : `${n}`);
  const what =
    rule.kind === 'redemptions'
      ? `redemptions of reward ${rule.rewardId}`
      : rule.kind === 'campaignRedemptions'
        ? `redemptions in campaign ${rule.campaign}`
        : `gift-card spend in ${rule.currency}`;
  return new Refusal(
    RefusalKind.BudgetExhausted,
    `The programme budget for ${what} this ${rule.period} is used up: ${show(used)} of ${show(rule.limit)} used, ${show(units)} asked.`,
    [{ field: 'rewardId', message: `the ${rule.key} budget is used up` }],
    { budget: rule.key, reason: 'BudgetExhausted' },
  );
}

/** Refuses up front (no lock; the hold decides for sure) when a take cannot fit. */
export async function checkRedemptionBudgets(
  db: Db | Trx,
  takes: { rule: BudgetRule; units: number }[],
  now: Date,
): Promise<Refusal | null> {
  if (takes.length === 0) return null;
  const zone = budgetTimeZone();
  const { rows } = await db.raw<{ rows: { budget: string; used: string }[] }>(
    `SELECT budget, sum(used) AS used FROM budget_slots s
     JOIN unnest(?::text[], ?::text[]) AS k(b, p) ON s.budget = k.b AND s.period = k.p
     GROUP BY budget`,
    [takes.map((t) => t.rule.key), takes.map((t) => periodOf(now, t.rule.period, zone))],
  );
  const used = new Map(rows.map((r) => [r.budget, Number(r.used)]));
  for (const { rule, units } of takes) {
    const u = used.get(rule.key) ?? 0;
    if (u + units > rule.limit) return budgetExhausted(rule, u, units);
  }
  return null;
}

/**
 * Takes `units` from each budget for `source` (once: a repeat takes nothing), or refuses with
 * `BudgetExhausted`, in the caller's transaction (which the refusal rolls back). Budgets named in
 * `overLimit` (held for approval: a person decides) are taken even past their limit.
 */
export async function takeUnits(
  trx: Trx,
  source: string,
  takes: { rule: BudgetRule; units: number }[],
  now: Date,
  overLimit: readonly string[] = [],
): Promise<void> {
  const zone = budgetTimeZone();
  const sorted = [...takes].sort((a, b) => a.rule.key.localeCompare(b.rule.key));
  const usages = [];
  for (const { rule, units } of sorted) {
    const period = periodOf(now, rule.period, zone);
    const { rows: recorded } = await trx.raw<{ rows: unknown[] }>(
      `INSERT INTO budget_takes (source, budget, period, units, taken_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [source, rule.key, period, units, now],
    );
    if (recorded.length === 0) continue;
    const limit = overLimit.includes(rule.key) ? Number.MAX_SAFE_INTEGER : rule.limit;
    const { rows } = await trx.raw<{ rows: { used: string }[] }>(
      `INSERT INTO budget_slots AS s (budget, period, slot, used)
       SELECT ?, ?, 0, ? WHERE ? <= ?
       ON CONFLICT (budget, period, slot) DO UPDATE SET used = s.used + excluded.used
         WHERE s.used + excluded.used <= ?
       RETURNING used`,
      [rule.key, period, units, units, limit, limit],
    );
    if (rows.length === 0) {
      const { rows: now_ } = await trx.raw<{ rows: { used: string }[] }>(
        'SELECT coalesce(sum(used), 0) AS used FROM budget_slots WHERE budget = ? AND period = ?',
        [rule.key, period],
      );
      throw budgetExhausted(rule, Number(now_[0]?.used ?? 0), units);
    }
    usages.push({ rule, period, used: Number(rows[0]!.used) });
  }
  await recordCrossings(trx, usages, now);
}

/** Gives back what `source` took, once, to the periods it was taken in. */
export async function giveBackUnits(trx: Trx | Db, source: string, now: Date): Promise<void> {
  await trx.raw(
    `WITH back AS (
       UPDATE budget_takes SET given_back_at = ? WHERE source = ? AND given_back_at IS NULL
       RETURNING budget, period, units)
     UPDATE budget_slots s SET used = s.used - back.units FROM back
     WHERE s.budget = back.budget AND s.period = back.period AND s.slot = 0`,
    [now, source],
  );
}
