/**
 * Returns reverse exactly what the returned lines earned, pro rata by quantity, once: each purchase
 * line keeps its returned quantity and reversed points, and the database refuses more than was
 * bought or earned.
 */
import { reversalFor } from '../domain/earning';
import { invalid, Refusal, RefusalKind } from '../domain/refusal';
import type { ActivityEvent } from './activity';
import { reverse } from './points';
import type { MemberLedger } from './store';

export interface ReturnLine {
  sku: string;
  quantity: number;
}

interface LineRow {
  sku: string;
  quantity: number;
  points: number;
  returned_quantity: number;
  reversed_points: number;
}

export async function recordReturn(
  ledger: MemberLedger,
  event: ActivityEvent,
  actor: string,
  version: number,
) {
  const { rows: purchases } = await ledger.trx.raw<{ rows: { id: string; member_id: string }[] }>(
    `SELECT id, member_id FROM ledger_events WHERE type = 'purchase' AND order_id = ?`,
    [event.orderId!],
  );
  const purchase = purchases[0];
  if (!purchase || purchase.member_id !== ledger.member.id) {
    throw invalid(
      `No purchase with orderId '${event.orderId}' for this member.`,
      'orderId',
      'not a purchase of this member',
    );
  }
  const { rows: bought } = await ledger.trx.raw<{ rows: LineRow[] }>(
    'SELECT * FROM purchase_lines WHERE event_id = ? FOR UPDATE',
    [purchase.id],
  );
  const returning = (event.lines ?? []) as ReturnLine[];
  const errors = returning.flatMap((line, i) => {
    const row = bought.find((b) => b.sku === line.sku);
    if (!row) return [{ field: `lines[${i}].sku`, message: `not in order ${event.orderId}` }];
    const left = row.quantity - row.returned_quantity;
    return line.quantity > left
      ? [
          {
            field: `lines[${i}].quantity`,
            message: `${line.quantity} exceeds the ${left} not yet returned`,
          },
        ]
      : [];
  });
  if (errors.length)
    throw new Refusal(RefusalKind.Invalid, 'The return does not match the order.', errors);

  const reversals = returning.map((line) => {
    const row = bought.find((b) => b.sku === line.sku)!;
    const points = reversalFor(
      {
        quantity: row.quantity,
        points: row.points,
        returnedQuantity: row.returned_quantity,
        reversedPoints: row.reversed_points,
      },
      line.quantity,
    );
    return { sku: line.sku, quantity: line.quantity, points };
  });
  const total = reversals.reduce((sum, r) => sum + r.points, 0);
  await ledger.trx.raw(
    `UPDATE purchase_lines p SET returned_quantity = p.returned_quantity + r.quantity,
       reversed_points = p.reversed_points + r.points
     FROM unnest(?::text[], ?::int[], ?::bigint[]) AS r(sku, quantity, points)
     WHERE p.event_id = ? AND p.sku = r.sku`,
    [
      reversals.map((r) => r.sku),
      reversals.map((r) => r.quantity),
      reversals.map((r) => r.points),
      purchase.id,
    ],
  );

  let outcome = { fromLot: 0, fromOthers: 0, debt: 0 };
  if (total > 0) {
    const { rows: lots } = await ledger.trx.raw<{ rows: { id: number }[] }>(
      `SELECT l.id FROM lots l JOIN ledger_entries e ON e.id = l.entry_id
       WHERE e.dedupe_key = ?`,
      [`event:${purchase.id}`],
    );
    outcome = await reverse(
      ledger,
      {
        kind: 'reversal',
        reason: `return of order ${event.orderId}: ${reversals.map((r) => `${r.quantity} x ${r.sku}`).join(', ')}`,
        actor,
        dedupeKey: `event:${event.eventId}`,
        qualifying: -total,
        sourceEventId: event.eventId,
        ruleVersion: version,
      },
      total,
      lots[0]?.id ?? null,
    );
    ledger.programEvent('points.reversed', `points.reversed:${event.eventId}`, {
      eventId: event.eventId,
      orderId: event.orderId,
      points: total,
      debt: outcome.debt,
    });
  }
  return {
    reversed: total,
    lines: reversals,
    fromPurchase: outcome.fromLot,
    fromOtherPoints: outcome.fromOthers,
    debt: outcome.debt,
  };
}
