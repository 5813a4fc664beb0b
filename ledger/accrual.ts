/**
 * Member activity in, points out, exactly once per event id. Earning events go through
 * `accrual-batch.ts` (here a batch of one; the API's queue batches them); a return is recorded on
 * its own, under the member's lock, since it reverses what its purchase's lines earned. Either way
 * the event's row, its entries, lots, counters and the member's balances are written in one
 * transaction, and the answer is stored with the event so a repeat gets the first answer back.
 */
import type { Db } from '../infra/db';
import { orderTaken, recordEarningBatch, type AccrualOutcome } from './accrual-batch';
import {
  hashRequest,
  isUniqueViolation,
  replay,
  type ActivityEvent,
  type EventAnswer,
  type EventResult,
} from './activity';
import { loadRuleSet } from './programs';
import { recordReturn } from './returns';
import { lockMemberFor, MemberLedger, type StoredEvent } from './store';

export type { ActivityEvent, EventAnswer, EventResult } from './activity';

export async function recordEvent(
  db: Db,
  event: ActivityEvent,
  actor: string,
  now: Date = new Date(),
): Promise<EventResult> {
  return settle(await recordAlone(db, event, actor, now));
}

/** An outcome's result, or its error thrown. */
export function settle(outcome: AccrualOutcome): EventResult {
  if ('error' in outcome) throw outcome.error;
  return outcome.result;
}

/**
 * One event in a transaction of its own, answering a race as the database decided it: the same
 * event id recorded meanwhile is a repeat; the same order by another event is a conflict.
 */
export async function recordAlone(
  db: Db,
  event: ActivityEvent,
  actor: string,
  now: Date = new Date(),
): Promise<AccrualOutcome> {
  const hash = hashRequest(event);
  try {
    if (event.type !== 'return') return (await recordEarningBatch(db, [{ event, actor }], now))[0]!;
    return { result: await recordReturnEvent(db, event, hash, actor, now) };
  } catch (err) {
    if (isUniqueViolation(err, 'ledger_events_pkey')) {
      const stored = await db<StoredEvent & { id: string }>('ledger_events')
        .where({ id: event.eventId })
        .first();
      if (stored) {
        try {
          return { result: replay(stored, hash, event.eventId) };
        } catch (conflict) {
          return { error: conflict };
        }
      }
    }
    if (isUniqueViolation(err, 'ledger_events_purchase_order')) {
      return { error: orderTaken(event) };
    }
    return { error: err };
  }
}

async function recordReturnEvent(
  db: Db,
  event: ActivityEvent,
  hash: string,
  actor: string,
  now: Date,
): Promise<EventResult> {
  const key = event.memberId ? { id: event.memberId } : { externalId: event.externalId! };
  return db.transaction(async (trx) => {
    const locked = await lockMemberFor(trx, key, event.eventId);
    if (locked.stored) return replay(locked.stored, hash, event.eventId);
    const ledger = new MemberLedger(trx, locked.member, now, locked.ruleVersion);
    ledger.assertOpen();
    const ruleSet = await loadRuleSet(trx, locked.ruleVersion);
    const points = await recordReturn(ledger, event, actor, ruleSet.version);
    const body: EventAnswer = {
      eventId: event.eventId,
      memberId: ledger.member.id,
      type: 'return',
      ruleVersion: ruleSet.version,
      points,
      balance: ledger.balances,
      tier: ledger.member.tier,
      status: ledger.member.status,
    };
    ledger.defer(
      `INSERT INTO ledger_events (id, member_id, type, order_id, request_hash, payload, response,
         rule_version, occurred_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        event.eventId,
        ledger.member.id,
        event.type,
        event.orderId ?? null,
        hash,
        JSON.stringify(event),
        JSON.stringify(body),
        ruleSet.version,
        event.occurredAt ?? now,
        now,
      ],
    );
    const member = await ledger.save();
    return { status: 201, body, replayed: false, changes: [], member };
  });
}
