/**
 * The liability ceiling's counter (`budgets.liability`, domain/budgets.ts). Outstanding points are
 * a stock, not a flow: accruals raise it, and redemptions, expiry, reversals and voids lower it
 * without going through the budgets. So the ceiling reuses the points budgets' quota escrow
 * (budgets/points.ts) on one standing counter whose usage is "outstanding points when last
 * rebased, plus every accrual since": never below the truth (what went down since is only seen at
 * the next rebase), so no accrual can pass the ceiling, and far from it accruals only touch their
 * own slot as for the points budgets. Credits outside accruals (adjustments, grants, refunds,
 * service-recovery credits) are added to the base slot as they are written, by a trigger
 * (migration 20261206200000); an escrow batch that then finds the counter past the ceiling is
 * decided in exact mode.
 *
 * The rebase happens in exact mode, with the counter's period row locked FOR UPDATE (every escrow
 * batch done, none starting): the true outstanding points are read from the ledger's exact rollup
 * and become the `base` slot's usage, every other slot is emptied and `granted` is reset. A batch
 * goes to exact mode when its slot cannot cover it (the counter near the ceiling: the rebase then
 * gives back what redemptions and expiry took off), when the counter was never rebased, or when it
 * would cross a warning percentage not yet written (warnings are written from the truth only).
 */
import type { BudgetRule } from '../domain/budgets';
import type { Db, Trx } from '../infra/db';
import { ledgerRollup } from '../program/points';

/** The slot that holds the outstanding points at the last rebase (escrow slots are 0..15). */
export const BASE_SLOT = -1;

/** Outstanding points (available + pending + held), summed from the exact ledger rollup. */
const outstanding = `(SELECT greatest(0, coalesce(sum(available + pending + held), 0))::bigint
  FROM ${ledgerRollup('day')} r)`;

/**
 * Rebases the counter of `rule` to the outstanding points now; the caller holds its period row
 * FOR UPDATE. Answers the outstanding points.
 */
export async function rebaseLiability(trx: Trx, rule: BudgetRule, period: string): Promise<number> {
  const { rows } = await trx.raw<{ rows: { used: string }[] }>(
    `WITH o AS (SELECT ${outstanding} AS points),
     cleared AS (
       UPDATE budget_slots SET used = 0, allowance = 0
       WHERE budget = :budget AND period = :period AND slot <> :base),
     reset AS (
       UPDATE budget_periods SET granted = (SELECT points FROM o)
       WHERE budget = :budget AND period = :period)
     INSERT INTO budget_slots (budget, period, slot, allowance, used)
     SELECT :budget, :period, :base, points, points FROM o
     ON CONFLICT (budget, period, slot)
       DO UPDATE SET allowance = excluded.allowance, used = excluded.used
     RETURNING used`,
    { budget: rule.key, period, base: BASE_SLOT },
  );
  return Number(rows[0]!.used);
}

/**
 * For `GET /program/budgets`: the outstanding points now, and their net change since `since`
 * (accruals less what was redeemed, expired, reversed; adjustments either way).
 */
export async function liabilityNow(
  db: Db,
  since: Date,
  now: Date,
): Promise<{ outstanding: number; change: number }> {
  const { rows } = await db.raw<{ rows: { outstanding: string; change: string }[] }>(
    `SELECT ${outstanding} AS outstanding,
       (SELECT coalesce(sum(available_delta + pending_delta + held_delta), 0) FROM ledger_entries
        WHERE created_at >= :since AND created_at <= :now) AS change`,
    { since, now },
  );
  return { outstanding: Number(rows[0]!.outstanding), change: Number(rows[0]!.change) };
}
