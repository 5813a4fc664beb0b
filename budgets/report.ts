/**
 * Each budget of the programme version in force, as `GET /program/budgets` and the
 * `loyalty_budget_usage_ratio` gauge show it: its period, limit, usage, state, and when it runs
 * out at the rate of the last hour (`rateWindow`) if that is before its period ends. The
 * liability ceiling has no period: its usage is the outstanding points in the ledger now (valued
 * in its currency), its rate their net change over the last hour.
 */
import {
  budgetRules,
  periodBounds,
  periodOf,
  projectedExhaustion,
  shown,
  stateOf,
  type BudgetRule,
} from '../domain/budgets';
import type { Db } from '../infra/db';
import { loadRuleSet } from '../ledger/programs';
import { liabilityNow } from './liability';
import { budgetTimeZone, pointCost } from './settings';

/** The rate behind the projection: usage over the last hour (from the period's start if later). */
export const rateWindowMs = 3_600_000;

export interface BudgetFigure {
  budget: string;
  kind: BudgetRule['kind'];
  rewardId: string | null;
  campaign: string | null;
  unit: string;
  /** The liability ceiling has no period: `standing`, no start or end. */
  period: { name: BudgetRule['period']; id: string; start: string | null; end: string | null };
  limit: number;
  used: number;
  remaining: number;
  percent: number;
  state: ReturnType<typeof stateOf>;
  atLimit: BudgetRule['atLimit'];
  warnAt: number[];
  rate: { from: string; to: string; used: number; perHour: number };
  projectedExhaustion: string | null;
}

export async function budgetReport(db: Db, now: Date = new Date()) {
  const { version, program } = await loadRuleSet(db);
  const zone = budgetTimeZone();
  const all = budgetRules(program.budgets, pointCost());
  const rules = all.filter((r) => r.kind !== 'liability');
  const rows = rules.map((rule) => {
    const bounds = periodBounds(now, rule.period as 'day' | 'month', zone);
    const from = new Date(Math.max(bounds.start.getTime(), now.getTime() - rateWindowMs));
    return { rule, id: periodOf(now, rule.period, zone), bounds, from };
  });
  const { rows: found } = rows.length
    ? await db.raw<{ rows: { budget: string; used: string; recent: string }[] }>(
        `SELECT k.budget,
           (SELECT coalesce(sum(used), 0) FROM budget_slots s
            WHERE s.budget = k.budget AND s.period = k.period) AS used,
           CASE WHEN k.budget LIKE 'points.%' THEN
             (SELECT coalesce(sum(amount), 0) FROM ledger_entries e
              WHERE e.kind = 'accrual' AND e.created_at >= k.since AND e.created_at <= :now)
           ELSE
             (SELECT coalesce(sum(units), 0) FROM budget_takes t
              WHERE t.budget = k.budget AND t.period = k.period AND t.taken_at >= k.since
                AND t.given_back_at IS NULL)
           END AS recent
         FROM unnest(:keys::text[], :periods::text[], :since::timestamptz[])
           AS k(budget, period, since)`,
        {
          keys: rows.map((r) => r.rule.key),
          periods: rows.map((r) => r.id),
          since: rows.map((r) => r.from),
          now,
        },
      )
    : { rows: [] };
  const byKey = new Map(found.map((f) => [f.budget, f]));
  const budgets = rows.map(({ rule, id, bounds, from }): BudgetFigure => {
    const used = Number(byKey.get(rule.key)?.used ?? 0);
    const recent = Math.min(used, Number(byKey.get(rule.key)?.recent ?? 0));
    const windowMs = now.getTime() - from.getTime();
    const projected = projectedExhaustion({
      limit: rule.limit,
      used,
      usedInWindow: recent,
      windowMs,
      now,
      periodEnd: bounds.end,
    });
    const show = (n: number) => shown(rule, n);
    return {
      budget: rule.key,
      kind: rule.kind,
      rewardId: rule.rewardId ?? null,
      campaign: rule.campaign ?? null,
      unit: rule.currency ?? (rule.kind === 'points' ? 'points' : 'redemptions'),
      period: {
        name: rule.period,
        id,
        start: bounds.start.toISOString(),
        end: bounds.end.toISOString(),
      },
      limit: show(rule.limit),
      used: show(used),
      remaining: show(Math.max(0, rule.limit - used)),
      percent: Math.round((used * 10000) / rule.limit) / 100,
      state: stateOf(rule, used),
      atLimit: rule.atLimit,
      warnAt: [...rule.warnAt].sort((a, b) => a - b),
      rate: {
        from: from.toISOString(),
        to: now.toISOString(),
        used: show(recent),
        perHour: windowMs > 0 ? show(Math.round((recent * 3_600_000) / windowMs)) : 0,
      },
      projectedExhaustion: projected?.toISOString() ?? null,
    };
  });
  const ceiling = all.find((r) => r.kind === 'liability');
  if (ceiling) budgets.push(await liabilityFigure(db, ceiling, now));
  return { asOf: now.toISOString(), timeZone: zone, ruleVersion: version, budgets };
}

/** The liability ceiling: outstanding points now, valued; the rate is their net change. */
async function liabilityFigure(db: Db, rule: BudgetRule, now: Date): Promise<BudgetFigure> {
  const from = new Date(now.getTime() - rateWindowMs);
  const { outstanding, change } = await liabilityNow(db, from, now);
  const projected = projectedExhaustion({
    limit: rule.limit,
    used: outstanding,
    usedInWindow: change,
    windowMs: rateWindowMs,
    now,
    periodEnd: new Date(8.64e15),
  });
  const limit = rule.money!.limit;
  const used = shown(rule, outstanding);
  return {
    budget: rule.key,
    kind: rule.kind,
    rewardId: null,
    campaign: null,
    unit: rule.currency!,
    period: { name: 'standing', id: 'standing', start: null, end: null },
    limit,
    used,
    remaining: Math.max(0, Math.round((limit - used) * 100) / 100),
    percent: Math.round((outstanding * 10000) / rule.limit) / 100,
    state: stateOf(rule, outstanding),
    atLimit: rule.atLimit,
    warnAt: [...rule.warnAt].sort((a, b) => a - b),
    rate: {
      from: from.toISOString(),
      to: now.toISOString(),
      used: shown(rule, change),
      perHour: shown(rule, change),
    },
    projectedExhaustion: projected?.toISOString() ?? null,
  };
}
