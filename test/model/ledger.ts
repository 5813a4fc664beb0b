/**
 * The member's points as the README's "The points ledger" describes them: lots with an expiry,
 * debits and holds from the lots that expire soonest (then the oldest), debt repaid by every
 * later credit before it creates a lot, pending points kept apart until they activate.
 */
import type { Balances, Lot, PendingLot } from './types';

export interface HoldRecord {
  points: number;
  /** What the hold took from each lot. */
  taken: { lot: Lot; points: number }[];
  state: 'held' | 'redeemed' | 'released';
}

export class PointsLedger {
  lots: Lot[] = [];
  pending: PendingLot[] = [];
  holds = new Map<string, HoldRecord>();
  debt = 0;
  private nextLot = 1;

  balances(): Balances {
    return {
      available: this.lots.reduce((sum, lot) => sum + lot.remaining, 0),
      pending: this.pending.reduce((sum, lot) => sum + lot.points, 0),
      held: [...this.holds.values()]
        .filter((h) => h.state === 'held')
        .reduce((sum, h) => sum + h.points, 0),
      debt: this.debt,
    };
  }

  /** Lots in spending order: soonest own (stored) expiry, then oldest. */
  spendOrder(): Lot[] {
    return this.lots
      .filter((lot) => lot.remaining > 0)
      .sort((a, b) => a.expiresAt - b.expiresAt || a.createdAt - b.createdAt || a.id - b.id);
  }

  /** A credit: repays debt first, the rest a lot. Returns the lot (null if all went to debt). */
  credit(points: number, source: string, at: number, expiresAt: number): Lot | null {
    const repaid = Math.min(this.debt, points);
    this.debt -= repaid;
    const rest = points - repaid;
    if (rest <= 0) return null;
    const lot: Lot = {
      id: this.nextLot++,
      source,
      createdAt: at,
      expiresAt,
      points: rest,
      remaining: rest,
    };
    this.lots.push(lot);
    return lot;
  }

  /** Take up to `points` from the given lots in order; returns what each gave. */
  private take(points: number, from: Lot[]): { lot: Lot; points: number }[] {
    const taken: { lot: Lot; points: number }[] = [];
    let left = points;
    for (const lot of from) {
      if (left === 0) break;
      const part = Math.min(lot.remaining, left);
      if (part === 0) continue;
      lot.remaining -= part;
      left -= part;
      taken.push({ lot, points: part });
    }
    return taken;
  }

  /**
   * A reversal (a return or a negative adjustment): the purchase's own lot first (if any), then
   * other available points soonest-expiring first; what is still missing becomes debt.
   */
  debit(points: number, ownSource: string | null): { fromLots: number; toDebt: number } {
    const own = ownSource === null ? [] : this.lots.filter((l) => l.source === ownSource);
    const fromOwn = this.take(points, own).reduce((s, t) => s + t.points, 0);
    const fromOthers = this.take(points - fromOwn, this.spendOrder()).reduce(
      (s, t) => s + t.points,
      0,
    );
    const toDebt = points - fromOwn - fromOthers;
    this.debt += toDebt;
    return { fromLots: fromOwn + fromOthers, toDebt };
  }

  /**
   * Expire what is left of every lot whose date has come (`at >= expiry(lot)`), `expiry` giving a
   * lot's effective date under the policy in force (see `MemberModel.expiryOf`).
   */
  expireDue(at: number, expiry: (lot: Lot) => number): { expiresAt: number; points: number }[] {
    const out = new Map<number, number>();
    for (const lot of this.lots) {
      const date = expiry(lot);
      if (lot.remaining > 0 && date <= at) {
        out.set(date, (out.get(date) ?? 0) + lot.remaining);
        lot.remaining = 0;
      }
    }
    return [...out.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([expiresAt, points]) => ({ expiresAt, points }));
  }

  /** A hold: refused (false) if the available points, once what is past its date expired, are too few. */
  hold(id: string, points: number): boolean {
    if (this.balances().available < points) return false;
    this.holds.set(id, { points, taken: this.take(points, this.spendOrder()), state: 'held' });
    return true;
  }

  redeem(id: string): boolean {
    const hold = this.holds.get(id);
    if (hold?.state !== 'held') return false;
    hold.state = 'redeemed';
    return true;
  }

  /** A release gives back to the lots it took from (the caller then expires what is past date). */
  release(id: string): boolean {
    const hold = this.holds.get(id);
    if (hold?.state !== 'held') return false;
    for (const part of hold.taken) part.lot.remaining += part.points;
    hold.state = 'released';
    return true;
  }

  /** Remaining points expiring at each (effective) instant. */
  expiringAt(expiry: (lot: Lot) => number): Map<number, number> {
    const out = new Map<number, number>();
    for (const lot of this.lots) {
      if (lot.remaining > 0) out.set(expiry(lot), (out.get(expiry(lot)) ?? 0) + lot.remaining);
    }
    return out;
  }
}
