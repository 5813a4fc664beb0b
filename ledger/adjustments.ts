/** Manual changes by ops, each with a reason and the actor on the entry: adjustments and closing. */
import { ms } from '../domain/program';
import { conflict, insufficientPoints, type Refusal } from '../domain/refusal';
import type { Db } from '../infra/db';
import { expireOverdue } from './lifecycle';
import { loadRuleSet } from './programs';
import { credit, debitAvailable } from './points';
import { withMember, type MemberLedger } from './store';

export interface AdjustmentInput {
  memberId: string;
  points: number;
  reason: string;
  reference?: string | undefined;
  actor: string;
  /** Makes the adjustment happen once (the request's idempotency key, or a fresh id). */
  dedupeKey: string;
  /**
   * The version the adjustment is made under (the new lot's lifetime): that of the work it
   * belongs to, e.g. a redemption's service-recovery credit; by default the member's now.
   */
  ruleVersion?: number | null | undefined;
}

export async function adjustPoints(db: Db, input: AdjustmentInput, now: Date = new Date()) {
  return withMember(
    db,
    { id: input.memberId },
    async (ledger) => {
      ledger.assertOpen();
      const { version, program } = await loadRuleSet(
        ledger.trx,
        input.ruleVersion ?? ledger.ruleVersion,
      );
      const entry = {
        kind: 'adjustment' as const,
        reason: input.reference ? `${input.reason} (ref ${input.reference})` : input.reason,
        actor: input.actor,
        dedupeKey: `adjustment:${input.dedupeKey}`,
        ruleVersion: version,
      };
      let entryId: number | null;
      if (input.points > 0) {
        const expiresAt = new Date(now.getTime() + ms(program.expiry.lotLifetime));
        ({ entryId } = await credit(ledger, entry, input.points, {
          status: 'active',
          activatesAt: null,
          expiresAt,
        }));
      } else {
        await expireOverdue(ledger);
        const debited = await debitAvailable(ledger, entry, -input.points);
        if (!debited) throw insufficient(ledger, -input.points);
        entryId = debited.entryId;
      }
      if (entryId !== null) {
        ledger.programEvent('points.adjusted', `points.adjusted:${entryId}`, {
          points: input.points,
          reason: entry.reason,
          actor: input.actor,
        });
      }
      await ledger.save();
      return { entryId, balance: ledger.balances };
    },
    now,
  );
}

function insufficient(ledger: MemberLedger, asked: number): Refusal {
  return insufficientPoints(
    `Cannot remove ${asked} points: ${ledger.balances.available} available.`,
    'points',
    `exceeds the ${ledger.balances.available} points available`,
  );
}

/**
 * Closes a member: what is left (available and pending) is forfeited and any debt written off, in
 * one entry; refused while points are held by an open redemption.
 */
export async function closeMember(
  db: Db,
  input: { memberId: string; reason: string; actor: string },
  now: Date = new Date(),
) {
  return withMember(
    db,
    { id: input.memberId },
    async (ledger) => {
      if (ledger.member.status === 'closed') return { closed: false, member: ledger.member };
      const { available, pending, held, debt } = ledger.balances;
      const frozen = ledger.frozen;
      if (held > 0) {
        throw conflict(
          `Member ${input.memberId} has ${held} points held by open redemptions.`,
          'memberId',
          'settle open redemptions first',
        );
      }
      if (available || pending || debt || frozen) {
        const entryId = await ledger.append({
          kind: 'adjustment',
          available: -available,
          pending: -pending,
          debt: -debt,
          frozen: -frozen,
          reason: `member closed: ${input.reason}`,
          actor: input.actor,
          dedupeKey: `close:${input.memberId}`,
        });
        const { rows } = await ledger.trx.raw<{ rows: { id: number; remaining: number }[] }>(
          'SELECT id, remaining FROM lots WHERE member_id = ? AND remaining > 0',
          [input.memberId],
        );
        await ledger.moveLots(
          entryId!,
          rows.map((l) => ({ lotId: l.id, amount: l.remaining })),
          -1,
        );
      }
      await ledger.save({ status: 'closed', closed_at: now });
      ledger.programEvent('member.closed', `member.closed:${input.memberId}`, {
        reason: input.reason,
        actor: input.actor,
        forfeited: { available, pending, ...(frozen ? { frozen } : {}) },
        debtWrittenOff: debt,
      });
      return { closed: true, member: ledger.member };
    },
    now,
  );
}
