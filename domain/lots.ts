/** Which lots pay for a debit: soonest-expiring first, then oldest. Pure. */
export interface OpenLot {
  id: number;
  remaining: number;
  expiresAt: Date;
}

export interface Take {
  lotId: number;
  amount: number;
}

export function byExpiry(a: OpenLot, b: OpenLot): number {
  return a.expiresAt.getTime() - b.expiresAt.getTime() || a.id - b.id;
}

/** Takes up to `amount` from `lots` in FIFO order; `shortfall` is what they could not cover. */
export function takeFifo(lots: OpenLot[], amount: number): { takes: Take[]; shortfall: number } {
  const takes: Take[] = [];
  let left = amount;
  for (const lot of [...lots].sort(byExpiry)) {
    if (left <= 0) break;
    const take = Math.min(lot.remaining, left);
    if (take <= 0) continue;
    takes.push({ lotId: lot.id, amount: take });
    left -= take;
  }
  return { takes, shortfall: left };
}
