/**
 * Programme budgets as data, and their arithmetic: what each budget counts, its period in the
 * programme's time zone, when it warns, what it does at 100 %, and when it will run out at the
 * current rate. Pure (Intl only); the counters live in `budgets/`.
 *
 * Budgets (all optional, in `budgets` of a programme version, so they change through change
 * control like any rule):
 * - `points.perDay`, `points.perMonth`: points issued by events (accruals). At 100 %:
 *   `stopBonus` (bonuses stop, base points are still earned and counted) or `stopEarning` (nothing
 *   more is issued: the event earns what is left, like a cap).
 * - `rewards.<rewardId>.perDay`, `.perMonth`: redemptions (units) of one reward. At 100 %:
 *   `refuse` (the redemption is refused with `BudgetExhausted`) or `holdForApproval` (it is held
 *   `in_review`; its units are taken over the limit with the hold, given back if rejected).
 * - `campaigns.<campaign>.perDay`, `.perMonth`: redemptions (units) of every reward tagged with
 *   that campaign (`campaign` on the reward). At 100 %: `refuse` or `holdForApproval`, as above.
 * - `giftCardSpend.<CUR>.perMonth`: face value of gift cards redeemed in that currency. At 100 %:
 *   `refuse` or `holdForApproval`, as above.
 * - `liability`: a standing ceiling (no period) on the outstanding points valued in money (the
 *   points members could still spend × the cost of a point in `currency`, config `POINT_COST`, as
 *   programme health values the liability). Accruals raise it; redemptions, expiry and reversals
 *   lower it. At 100 %: `stopBonus` or `stopEarning`, as the points budgets.
 */
import { z } from 'zod';
import { zonedTime } from './launch-window';

/** `standing`: the liability ceiling, which is not counted per period. */
export type BudgetPeriod = 'day' | 'month' | 'standing';

const warnAt = z
  .array(z.number().int().min(1).max(99))
  .max(5)
  .default([80, 90])
  .refine((p) => new Set(p).size === p.length, 'duplicate percentage')
  .describe('Percentages of the limit at which a budget.warning event is written, once each.');

const pointsAtLimit = z
  .enum(['stopBonus', 'stopEarning'])
  .default('stopBonus')
  .describe('stopBonus: base points still earned; stopEarning: nothing more is issued.');

const pointsBudget = z.strictObject({
  limit: z.number().int().min(1).max(1_000_000_000_000).describe('Points per period.'),
  warnAt,
  atLimit: pointsAtLimit,
});

const liabilityBudget = z.strictObject({
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'ISO 4217 code')
    .describe('The currency of the limit; the cost of a point in it is config POINT_COST.'),
  limit: z
    .number()
    .positive()
    .max(1e12)
    .describe('Outstanding points, valued at the cost of a point, may reach this much.'),
  warnAt,
  atLimit: pointsAtLimit,
});

const redemptionAtLimit = z
  .enum(['refuse', 'holdForApproval'])
  .default('refuse')
  .describe('refuse: BudgetExhausted; holdForApproval: held in_review for ops to decide.');

const unitBudget = z.strictObject({
  limit: z.number().int().min(1).max(1_000_000_000).describe('Redemptions per period.'),
  warnAt,
  atLimit: redemptionAtLimit,
});

const moneyBudget = z.strictObject({
  limit: z.number().positive().max(1e12).describe('Face value per period, in the currency.'),
  warnAt,
  atLimit: redemptionAtLimit,
});

export const budgetsSchema = z
  .strictObject({
    points: z
      .strictObject({ perDay: pointsBudget.optional(), perMonth: pointsBudget.optional() })
      .optional(),
    rewards: z
      .record(
        z.string().min(1).max(100),
        z.strictObject({ perDay: unitBudget.optional(), perMonth: unitBudget.optional() }),
      )
      .optional()
      .describe('Redemptions of a reward per period, by reward id.'),
    campaigns: z
      .record(
        z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a campaign tag'),
        z.strictObject({ perDay: unitBudget.optional(), perMonth: unitBudget.optional() }),
      )
      .optional()
      .describe('Redemptions of the rewards tagged with a campaign, per period, by campaign.'),
    giftCardSpend: z
      .record(
        z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code'),
        z.strictObject({ perMonth: moneyBudget }),
      )
      .optional()
      .describe('Face value of gift cards redeemed per month, by currency.'),
    liability: liabilityBudget
      .optional()
      .describe('Ceiling on the outstanding points liability in money (no period).'),
  })
  .default({})
  .describe('Programme budgets per period, in the programme time zone (PROGRAM_TIME_ZONE).');

export type Budgets = z.infer<typeof budgetsSchema>;
export type AtLimit = 'stopBonus' | 'stopEarning' | 'refuse' | 'holdForApproval';

/** One configured budget, flattened: its counter key (without the period) and its rules. */
export interface BudgetRule {
  /** `points.day`, `reward.<id>.month`, `giftcards.EUR.month`. */
  key: string;
  kind: 'points' | 'redemptions' | 'campaignRedemptions' | 'giftCardSpend' | 'liability';
  period: BudgetPeriod;
  /**
   * In the budget's counting unit: points, redemptions, or minor units of money (cents); the
   * liability ceiling counts outstanding points (its money limit ÷ the cost of a point).
   */
  limit: number;
  warnAt: number[];
  atLimit: AtLimit;
  rewardId?: string;
  campaign?: string;
  currency?: string;
  /** The liability ceiling as configured: its limit in money and the cost of a point. */
  money?: { limit: number; costPerPoint: number };
}

/** Money is counted in minor units, so counters stay whole numbers. */
export const toMinor = (amount: number): number => Math.round(amount * 100);
export const fromMinor = (minor: number): number => minor / 100;

/** Outstanding points a money ceiling allows: `limit` ÷ `cost`, rounded down (micro-units). */
export function ceilingPoints(limit: number, cost: number): number {
  const micro = Math.round(cost * 1e6);
  return micro > 0 ? Math.floor(Math.round(limit * 1e6) / micro) : Number.MAX_SAFE_INTEGER;
}

/** A count in the budget's unit as shown: money for gift-card spend and liability, else as is. */
export function shown(rule: BudgetRule, n: number): number {
  if (rule.kind === 'giftCardSpend') return fromMinor(n);
  if (rule.kind === 'liability') return Math.round(n * rule.money!.costPerPoint * 100) / 100;
  return n;
}

/**
 * Every configured budget as a rule. `pointCost` (config POINT_COST) values the liability
 * ceiling; without a cost in its currency (refused when a rule change is proposed) it is left out.
 */
export function budgetRules(
  budgets: Budgets | undefined,
  pointCost: Record<string, number> = {},
): BudgetRule[] {
  const rules: BudgetRule[] = [];
  if (!budgets) return rules;
  const periods = [
    ['perDay', 'day'],
    ['perMonth', 'month'],
  ] as const;
  for (const [field, period] of periods) {
    const b = budgets.points?.[field];
    if (b) rules.push({ key: `points.${period}`, kind: 'points', period, ...b });
  }
  for (const [rewardId, byPeriod] of Object.entries(budgets.rewards ?? {})) {
    for (const [field, period] of periods) {
      const b = byPeriod[field];
      if (b) {
        const key = `reward.${rewardId}.${period}`;
        rules.push({ key, kind: 'redemptions', period, rewardId, ...b });
      }
    }
  }
  for (const [campaign, byPeriod] of Object.entries(budgets.campaigns ?? {})) {
    for (const [field, period] of periods) {
      const b = byPeriod[field];
      if (b) {
        const key = `campaign.${campaign}.${period}`;
        rules.push({ key, kind: 'campaignRedemptions', period, campaign, ...b });
      }
    }
  }
  for (const [currency, { perMonth }] of Object.entries(budgets.giftCardSpend ?? {})) {
    rules.push({
      key: `giftcards.${currency}.month`,
      kind: 'giftCardSpend',
      period: 'month',
      currency,
      ...perMonth,
      limit: toMinor(perMonth.limit),
    });
  }
  const liability = budgets.liability;
  const cost = liability ? pointCost[liability.currency] : undefined;
  if (liability && cost !== undefined && cost > 0) {
    rules.push({
      key: 'liability',
      kind: 'liability',
      period: 'standing',
      limit: ceilingPoints(liability.limit, cost),
      warnAt: liability.warnAt,
      atLimit: liability.atLimit,
      currency: liability.currency,
      money: { limit: liability.limit, costPerPoint: cost },
    });
  }
  return rules;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** `YYYY-MM-DD` of `at` in `timeZone`. */
export function localDate(at: Date, timeZone: string): string {
  let f = dateFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    dateFormats.set(timeZone, f);
  }
  return f.format(at);
}

/**
 * The period `at` falls in: `2026-12-05` (day) or `2026-12` (month), in the programme's zone;
 * `standing` for the liability ceiling (one counter, whenever).
 */
export function periodOf(at: Date, period: BudgetPeriod, timeZone: string): string {
  if (period === 'standing') return 'standing';
  const date = localDate(at, timeZone);
  return period === 'day' ? date : date.slice(0, 7);
}

/** Start and end (exclusive) of the period `at` falls in, as instants. */
export function periodBounds(
  at: Date,
  period: 'day' | 'month',
  timeZone: string,
): { start: Date; end: Date } {
  const date = localDate(at, timeZone);
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const first =
    period === 'day' ? new Date(Date.UTC(y, m - 1, d)) : new Date(Date.UTC(y, m - 1, 1));
  const next = period === 'day' ? new Date(Date.UTC(y, m - 1, d + 1)) : new Date(Date.UTC(y, m, 1));
  const day = (t: Date) => t.toISOString().slice(0, 10);
  return {
    start: new Date(zonedTime(day(first), '00:00', timeZone)),
    end: new Date(zonedTime(day(next), '00:00', timeZone)),
  };
}

/**
 * The warning percentages `used` has reached (ascending), and whether it reached the limit. Each
 * is an event once per budget and period: written when first seen reached (never early).
 */
export function reached(rule: Pick<BudgetRule, 'limit' | 'warnAt'>, used: number) {
  const warnings = [...rule.warnAt]
    .sort((a, b) => a - b)
    .filter((p) => used * 100 >= p * rule.limit);
  return { warnings, exhausted: used >= rule.limit };
}

export type BudgetState = 'ok' | 'warning' | 'exhausted';

export function stateOf(rule: Pick<BudgetRule, 'limit' | 'warnAt'>, used: number): BudgetState {
  if (used >= rule.limit) return 'exhausted';
  const lowest = Math.min(...rule.warnAt, 100);
  return (used * 100) / rule.limit >= lowest ? 'warning' : 'ok';
}

/**
 * When the budget runs out at the rate of the last `windowMs` (usage in it ÷ its length): null
 * when nothing was used in the window, or when it would not run out before the period ends;
 * `now` when already exhausted.
 */
export function projectedExhaustion(input: {
  limit: number;
  used: number;
  usedInWindow: number;
  windowMs: number;
  now: Date;
  periodEnd: Date;
}): Date | null {
  const { limit, used, usedInWindow, windowMs, now, periodEnd } = input;
  if (used >= limit) return now;
  if (usedInWindow <= 0 || windowMs <= 0) return null;
  const perMs = usedInWindow / windowMs;
  const at = new Date(now.getTime() + Math.ceil((limit - used) / perMs));
  return at < periodEnd ? at : null;
}

/**
 * What a points budget lets an event earn: `earned` (after caps) of which `base` are base points.
 * `room` is what is left of the budget (may be below 0 once base points went over). stopEarning
 * cuts to the room; stopBonus cuts only the bonus part, never base points.
 */
export function pointsAllowed(
  atLimit: AtLimit,
  earned: number,
  base: number,
  room: number,
): number {
  const free = Math.max(0, room);
  if (atLimit === 'stopEarning') return Math.min(earned, free);
  const basePart = Math.min(earned, base);
  const bonusPart = earned - basePart;
  return basePart + Math.min(bonusPart, Math.max(0, free - basePart));
}
