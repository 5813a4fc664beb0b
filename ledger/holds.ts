/**
 * Holds set points aside for a redemption: taken from available lots FIFO, then either released
 * back to the same lots or turned into the redemption. Each step happens once per hold id.
 */
import type { Db } from '../infra/db';
import type { Take } from '../domain/lots';
import { conflict, insufficientPoints } from '../domain/refusal';
import { effectiveExpiry, expireOverdue } from './lifecycle';
import { loadRuleSet } from './programs';
import { withMember, type MemberLedger } from './store';

export interface HoldRow {
  id: string;
  member_id: string;
  amount: number;
  status: 'held' | 'released' | 'redeemed';
  reason: string;
}

const holdConflict = (message: string) => conflict(message, 'holdId');

async function findHold(ledger: MemberLedger, holdId: string): Promise<HoldRow | undefined> {
  const { rows } = await ledger.trx.raw<{ rows: HoldRow[] }>('SELECT * FROM holds WHERE id = ?', [
    holdId,
  ]);
  return rows[0];
}

export async function placeHold(
  db: Db,
  input: { holdId: string; memberId: string; amount: number; reason: string; actor: string },
  now: Date = new Date(),
): Promise<HoldRow> {
  return withMember(
    db,
    { id: input.memberId },
    async (ledger) => {
      const existing = await findHold(ledger, input.holdId);
      if (existing) {
        if (existing.member_id !== input.memberId || existing.amount !== input.amount)
          throw holdConflict(`hold ${input.holdId} already exists with another member or amount`);
        return existing;
      }
      ledger.assertCanTransact();
      await expireOverdue(ledger);
      const plan = await ledger.planFifo(input.amount);
      if (plan.shortfall > 0) {
        throw insufficientPoints(
          `Not enough points: ${input.amount} asked, ${ledger.balances.available} available.`,
          'amount',
          `exceeds the ${ledger.balances.available} points available`,
        );
      }
      await ledger.trx.raw(
        `INSERT INTO holds (id, member_id, amount, status, reason, created_at) VALUES (?, ?, ?, 'held', ?, ?)`,
        [input.holdId, input.memberId, input.amount, input.reason, now],
      );
      const entryId = await ledger.append({
        kind: 'hold',
        available: -input.amount,
        held: input.amount,
        reason: input.reason,
        actor: input.actor,
        dedupeKey: `hold:${input.holdId}`,
        holdId: input.holdId,
      });
      await ledger.moveLots(entryId!, plan.takes, -1);
      await ledger.trx.raw(
        `INSERT INTO hold_allocations (hold_id, lot_id, amount)
       SELECT ?, * FROM unnest(?::bigint[], ?::bigint[])`,
        [input.holdId, plan.takes.map((t) => t.lotId), plan.takes.map((t) => t.amount)],
      );
      await ledger.save();
      return (await findHold(ledger, input.holdId))!;
    },
    now,
  );
}

/** Gives held points back to the lots they came from; lots already past expiry expire at once. */
export async function releaseHold(
  db: Db,
  input: { holdId: string; memberId: string; reason: string; actor: string },
  now: Date = new Date(),
): Promise<HoldRow> {
  return withMember(
    db,
    { id: input.memberId },
    async (ledger) => {
      const hold = await settle(ledger, input.holdId, 'released');
      if (hold.status !== 'held') return hold;
      const { rows: takes } = await ledger.trx.raw<{ rows: (Take & { expires_at: Date })[] }>(
        `SELECT a.lot_id AS "lotId", a.amount, l.expires_at FROM hold_allocations a
       JOIN lots l ON l.id = a.lot_id WHERE a.hold_id = ?`,
        [input.holdId],
      );
      const entryId = await ledger.append({
        kind: 'release',
        held: -hold.amount,
        available: hold.amount,
        reason: input.reason,
        actor: input.actor,
        dedupeKey: `release:${input.holdId}`,
        holdId: input.holdId,
      });
      await ledger.moveLots(entryId!, takes, 1);
      // Past expiry by the member's program policy (activity may have extended a lot's own date).
      const { program } = await loadRuleSet(ledger.trx, ledger.ruleVersion);
      const expired = takes.filter(
        (t) => effectiveExpiry(program, ledger.member, t) <= now.getTime(),
      );
      for (const lot of expired) {
        const expiryId = await ledger.append({
          kind: 'expiry',
          available: -lot.amount,
          reason: `released to lot ${lot.lotId}, already past its expiry`,
          actor: input.actor,
          dedupeKey: `expiry:${lot.lotId}:release:${input.holdId}`,
          holdId: input.holdId,
        });
        await ledger.moveLots(expiryId!, [lot], -1);
      }
      await ledger.save();
      return { ...hold, status: 'released' };
    },
    now,
  );
}

/** Turns the held points into the redemption: they leave the member for good. */
export async function redeemHold(
  db: Db,
  input: { holdId: string; memberId: string; reason: string; actor: string },
  now: Date = new Date(),
): Promise<HoldRow> {
  return withMember(
    db,
    { id: input.memberId },
    async (ledger) => {
      const hold = await settle(ledger, input.holdId, 'redeemed');
      if (hold.status !== 'held') return hold;
      await ledger.append({
        kind: 'redemption',
        held: -hold.amount,
        reason: input.reason,
        actor: input.actor,
        dedupeKey: `redemption:${input.holdId}`,
        holdId: input.holdId,
      });
      await ledger.save();
      return { ...hold, status: 'redeemed' };
    },
    now,
  );
}

/** Marks the hold settled; a repeat of the same settlement returns it unchanged. */
async function settle(
  ledger: MemberLedger,
  holdId: string,
  to: 'released' | 'redeemed',
): Promise<HoldRow> {
  const hold = await findHold(ledger, holdId);
  if (!hold || hold.member_id !== ledger.member.id)
    throw conflict(`no hold ${holdId} for this member`);
  if (hold.status === to) return { ...hold, status: to };
  if (hold.status !== 'held') throw conflict(`hold ${holdId} is already ${hold.status}`);
  await ledger.trx.raw('UPDATE holds SET status = ?, settled_at = ? WHERE id = ?', [
    to,
    ledger.now,
    holdId,
  ]);
  return hold;
}
