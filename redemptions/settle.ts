/**
 * Ops settle a hold the workflow left open: a redemption cancelled (or terminated) in Temporal
 * after its point of no return ends with its points still held and nothing left to settle them.
 * `spend` turns the hold into the redemption (it completes), `release` gives the points back (it
 * is cancelled). The ledger entries, the budgets and the `settled` step are one transaction, and
 * a repeat of the same settlement changes nothing. Whether the workflow is closed is Temporal's
 * to say: the API asks before calling this.
 */
import { giveBackRedemptionBudgets } from '../budgets/redemptions';
import { conflict, notFound } from '../domain/refusal';
import type { RedemptionStatus } from '../domain/redemption';
import type { Db, Trx } from '../infra/db';
import { redeemHold, releaseHold, type HoldRow } from '../ledger/holds';
import { findRedemptionRow, withSteps, type RedemptionRow } from './records';

export const settleActions = ['spend', 'release'] as const;
export type SettleAction = (typeof settleActions)[number];

export interface SettleInput {
  redemptionId: string;
  action: SettleAction;
  reason: string;
  /** `<role>:<key name>`. */
  actor: string;
}

/** What each settlement does to the hold and to the redemption's status. */
const outcome: Record<SettleAction, { hold: HoldRow['status']; status: RedemptionStatus }> = {
  spend: { hold: 'redeemed', status: 'completed' },
  release: { hold: 'released', status: 'cancelled' },
};

/** The redemption's hold, if one was placed (its id is the redemption's). */
export async function holdOf(db: Db | Trx, redemptionId: string): Promise<HoldRow | undefined> {
  return db<HoldRow>('holds').where({ id: redemptionId }).first();
}

/** Whether the redemption still holds points (ops may settle them once its workflow is closed). */
export async function holdIsOpen(db: Db | Trx, redemptionId: string): Promise<boolean> {
  return (await holdOf(db, redemptionId))?.status === 'held';
}

/**
 * Settles the open hold; answers whether this call did (false: the same settlement was done
 * before). Refused when there is no hold, or it was settled the other way.
 */
export async function settleHold(db: Db, input: SettleInput): Promise<boolean> {
  const row = await findRedemptionRow(db, input.redemptionId);
  if (!row) throw notFound('redemption', 'id', input.redemptionId);
  const to = outcome[input.action];
  const { result } = await withSteps(
    db,
    async (trx) => {
      // One settlement at a time per redemption: the second waits and finds the hold settled.
      await trx('redemptions').where({ id: row.id }).forUpdate().first();
      const hold = await holdOf(trx, row.id);
      if (!hold) throw conflict(`Redemption ${row.id} holds no points.`, 'id', 'no hold');
      if (hold.status !== 'held') {
        // The same settlement again (by ops: the workflow settling it is no settlement).
        const settled = await trx('redemption_steps')
          .where({ redemption_id: row.id, step: 'settled' })
          .first<{ detail: { action?: string } } | undefined>('detail');
        if (hold.status === to.hold && settled?.detail.action === input.action) {
          return { done: false, seq: 0 };
        }
        throw conflict(
          `Redemption ${row.id}'s points are already ${hold.status}: nothing to settle.`,
          'id',
          `the hold is ${hold.status}`,
        );
      }
      const settle = input.action === 'spend' ? redeemHold : releaseHold;
      await settle(trx, {
        holdId: row.id,
        memberId: row.member_id,
        reason: `redemption ${row.id} settled by ops (${input.action}): ${input.reason}`,
        actor: input.actor,
      });
      if (input.action === 'release') await giveBackRedemptionBudgets(trx, row.id);
      const { max } = (await trx('redemption_steps')
        .where({ redemption_id: row.id })
        .max('seq as max')
        .first()) as { max: number | null };
      return { done: true, seq: (max ?? 0) + 1 };
    },
    ({ done, seq }) => (done ? [settledStep(row, input, seq, to.status)] : []),
  );
  return result.done;
}

function settledStep(row: RedemptionRow, input: SettleInput, seq: number, to: RedemptionStatus) {
  return {
    redemptionId: row.id,
    memberId: row.member_id,
    seq,
    step: {
      status: 'settled' as const,
      at: Date.now(),
      detail: { action: input.action, by: input.actor, reason: input.reason, from: row.status },
    },
    status: to,
    reason: `settled by ${input.actor} (${input.action}): ${input.reason}`,
  };
}
