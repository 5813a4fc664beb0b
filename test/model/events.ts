/**
 * What each kind of event does to a member (README "The points ledger"): accrual under the version
 * in force, pending purchase points, returns reversing their share (pending first, then the
 * purchase's own lot, other lots, debt), adjustments, holds, redemptions, releases and closing.
 */
import type { EventOutcome, ModelEvent } from './types';
import type { MemberModel } from './member';
import { versionAt } from './member';
import {
  applyCaps,
  bonusPoints,
  fixedBase,
  lineShares,
  purchaseBase,
  reversedSoFar,
} from './earning';
import { durationMs } from './time';

type Outcome = Omit<EventOutcome, 'at' | 'ref' | 'kind'>;

const refused = (reason: string): Outcome => ({
  version: null,
  points: 0,
  capped: 0,
  refused: reason,
});

function refOf(event: ModelEvent): string {
  if ('eventId' in event) return event.eventId;
  if ('id' in event) return event.id;
  return 'close';
}

export function applyEvent(member: MemberModel, event: ModelEvent): EventOutcome {
  const head = { at: event.at, ref: refOf(event), kind: event.kind };
  if (member.status === 'closed') return { ...head, ...refused('MemberClosed') };
  return { ...head, ...decide(member, event) };
}

function decide(member: MemberModel, event: ModelEvent): Outcome {
  const at = event.at;
  const { version, program } = versionAt(member.versions, at);
  switch (event.kind) {
    case 'purchase': {
      const base = purchaseBase(
        program,
        event.currency,
        event.channel,
        event.lines,
        member.tierMultiplier(at),
      );
      if (base === null) return refused('UnknownCurrency');
      const cents = event.lines.reduce((s, l) => s + l.cents, 0);
      const categories = event.lines.map((l) => l.category);
      const bonus = bonusPoints(program.bonuses, {
        type: 'purchase',
        channel: event.channel,
        country: event.country,
        categories,
        cents,
      });
      const [kept, capped] = applyCaps(program, member.caps, 'purchase', at, base.base + bonus);
      member.orders.set(event.orderId, {
        source: event.eventId,
        earned: kept,
        reversed: 0,
        shares: lineShares(kept, base.lineRaw),
        skus: event.lines.map((l) => l.sku),
        quantities: event.lines.map((l) => l.quantity),
        returned: event.lines.map(() => 0),
      });
      member.activity(at);
      if (kept > 0) {
        if (program.pendingPeriod === undefined) {
          member.ledger.credit(kept, event.eventId, at, member.lotExpiry(at));
        } else {
          member.ledger.pending.push({
            source: event.eventId,
            orderId: event.orderId,
            earnedAt: at,
            activatesAt: at + durationMs(program.pendingPeriod),
            expiresAt: member.lotExpiry(at + durationMs(program.pendingPeriod), at),
            points: kept,
          });
        }
      }
      member.qualifying.add(at, kept);
      member.upgrade(at);
      return { version, points: kept, capped };
    }
    case 'fixed': {
      const points = fixedBase(program, event.type, member.tierMultiplier(at));
      const bonus = bonusPoints(program.bonuses, { type: event.type, categories: [] });
      const [kept, capped] = applyCaps(program, member.caps, event.type, at, points + bonus);
      member.activity(at);
      if (kept > 0) member.ledger.credit(kept, event.eventId, at, member.lotExpiry(at));
      member.qualifying.add(at, kept);
      member.upgrade(at);
      return { version, points: kept, capped };
    }
    case 'return': {
      const order = member.orders.get(event.orderId);
      if (!order) return refused('UnknownOrder');
      const returned = [...order.returned];
      for (const line of event.lines) {
        const i = order.skus.indexOf(line.sku);
        if (i < 0) return refused('UnknownLine');
        returned[i] = (returned[i] ?? 0) + line.quantity;
        if ((returned[i] ?? 0) > (order.quantities[i] ?? 0))
          return refused('ReturnExceedsPurchase');
      }
      const total = reversedSoFar(order.shares, order.quantities, returned);
      const delta = total - order.reversed;
      order.returned = returned;
      order.reversed = total;
      const pending = member.ledger.pending.find((p) => p.source === order.source);
      let left = delta;
      if (pending) {
        const part = Math.min(pending.points, left);
        pending.points -= part;
        left -= part;
        if (pending.points === 0)
          member.ledger.pending.splice(member.ledger.pending.indexOf(pending), 1);
      }
      if (left > 0) member.ledger.debit(left, order.source);
      member.qualifying.add(at, -delta);
      return { version, points: -delta, capped: 0 };
    }
    case 'adjustment': {
      if (event.points >= 0) {
        member.ledger.credit(event.points, event.id, at, member.lotExpiry(at));
      } else {
        if (member.ledger.balances().available < -event.points)
          return refused('InsufficientPoints');
        member.ledger.debit(-event.points, null);
      }
      return { version, points: event.points, capped: 0 };
    }
    case 'hold':
      if (!member.ledger.hold(event.id, event.points)) return refused('InsufficientPoints');
      return { version, points: -event.points, capped: 0 };
    case 'redeem':
      if (!member.ledger.redeem(event.id)) return refused('NoHold');
      return { version, points: 0, capped: 0 };
    case 'release': {
      const hold = member.ledger.holds.get(event.id);
      if (!hold || !member.ledger.release(event.id)) return refused('NoHold');
      member.recordExpiries(at);
      return { version, points: hold.points, capped: 0 };
    }
    case 'close': {
      const b = member.ledger.balances();
      for (const lot of member.ledger.lots) lot.remaining = 0;
      member.ledger.pending.length = 0;
      member.ledger.debt = 0;
      member.status = 'closed';
      member.happenings.push({ at, kind: 'closed', points: b.available + b.pending, debt: b.debt });
      return { version, points: -(b.available + b.pending), capped: 0 };
    }
  }
}
