/**
 * A redemption's budgets (per reward, gift-card spend): taken with its points hold, in the hold's
 * transaction, under the programme version the redemption recorded; given back with the hold's
 * release (failed, cancelled, lost) or the return's refund, once.
 */
import type { Db, Trx } from '../infra/db';
import { loadRuleSet } from '../ledger/programs';
import { checkRedemptionBudgets, giveBackUnits, redemptionTakes, takeUnits } from './units';
import type { Refusal } from '../domain/refusal';
import type { Program } from '../domain/program';

const source = (redemptionId: string) => `redemption:${redemptionId}`;

interface Row {
  reward_id: string;
  quantity: number;
  rule_version: number | null;
  kind: string | null;
  denomination: string | null;
  currency: string | null;
  campaign: string | null;
}

async function takesOf(trx: Db | Trx, redemptionId: string) {
  const { rows } = await trx.raw<{ rows: Row[] }>(
    `SELECT r.reward_id, r.quantity, r.rule_version, w.kind, w.denomination, w.currency, w.campaign
     FROM redemptions r LEFT JOIN rewards w ON w.id = r.reward_id WHERE r.id = ?`,
    [redemptionId],
  );
  const row = rows[0];
  if (!row) return [];
  const { program } = await loadRuleSet(trx, row.rule_version ?? undefined);
  return redemptionTakes(program.budgets, {
    rewardId: row.reward_id,
    quantity: row.quantity,
    campaign: row.campaign,
    giftCard:
      row.kind === 'gift_card' && row.currency
        ? { denomination: Number(row.denomination), currency: row.currency }
        : null,
  });
}

/**
 * Takes the redemption's budgets (refuses with `BudgetExhausted`), once per redemption;
 * `overLimit`: the budgets its plan held it for approval on, taken past their limit.
 */
export async function takeRedemptionBudgets(
  trx: Trx,
  redemptionId: string,
  now: Date = new Date(),
  overLimit: readonly string[] = [],
): Promise<void> {
  const takes = await takesOf(trx, redemptionId);
  if (takes.length > 0) await takeUnits(trx, source(redemptionId), takes, now, overLimit);
}

/** Gives back what the redemption took (nothing if it took nothing or gave it back already). */
export async function giveBackRedemptionBudgets(
  trx: Trx | Db,
  redemptionId: string,
  now: Date = new Date(),
): Promise<void> {
  await giveBackUnits(trx, source(redemptionId), now);
}

/**
 * Before a redemption starts: a refusal if a budget that refuses at its limit cannot take it now,
 * else the budgets that hold for approval and cannot take it (each its budget key and why).
 */
export async function redemptionBudgetCheck(
  db: Db | Trx,
  program: Program,
  r: Parameters<typeof redemptionTakes>[1],
  now: Date = new Date(),
): Promise<{ refusal: Refusal | null; holds: { budget: string; message: string }[] }> {
  const takes = redemptionTakes(program.budgets, r);
  const holding = takes.filter((t) => t.rule.atLimit === 'holdForApproval');
  const refusing = takes.filter((t) => t.rule.atLimit !== 'holdForApproval');
  const refusal = await checkRedemptionBudgets(db, refusing, now);
  if (refusal) return { refusal, holds: [] };
  const holds: { budget: string; message: string }[] = [];
  for (const take of holding) {
    const full = await checkRedemptionBudgets(db, [take], now);
    if (full) holds.push({ budget: take.rule.key, message: full.message });
  }
  return { refusal: null, holds };
}
