/**
 * Crediting and debiting points with their lots. Policy on debt: a reversal that finds its points
 * already spent takes what it can from the member's other available points (soonest-expiring
 * first) and records the rest as debt; every later credit repays debt before it adds to a lot.
 * Nothing is dropped: available + pending + held + frozen - debt always equals the sum of the
 * entries.
 */
import type { Take } from '../domain/lots';
import type { EntryInput, MemberLedger } from './store';

type EntryBase = Omit<EntryInput, 'available' | 'pending' | 'held' | 'debt'>;

export interface Credited {
  entryId: number | null;
  lotId: number | null;
  repaid: number;
}

/** Credits `amount` into a new lot (pending or active), repaying debt first. */
export async function credit(
  ledger: MemberLedger,
  entry: EntryBase,
  amount: number,
  lot: { status: 'pending' | 'active'; activatesAt: Date | null; expiresAt: Date },
): Promise<Credited> {
  const repaid = Math.min(amount, ledger.balances.debt);
  const rest = amount - repaid;
  const { entryId, lotId } = await ledger.appendWithLot(
    { ...entry, [lot.status === 'pending' ? 'pending' : 'available']: rest, debt: -repaid },
    rest > 0 ? { amount: rest, ...lot } : null,
  );
  return { entryId, lotId, repaid };
}

/** Debits `amount` of available points FIFO; refuses (returns null) when not enough. */
export async function debitAvailable(
  ledger: MemberLedger,
  entry: EntryBase,
  amount: number,
): Promise<{ entryId: number | null; takes: Take[] } | null> {
  const plan = await ledger.planFifo(amount);
  if (plan.shortfall > 0) return null;
  const entryId = await ledger.append({ ...entry, available: -amount });
  if (entryId !== null) await ledger.moveLots(entryId, plan.takes, -1);
  return { entryId, takes: plan.takes };
}

/**
 * Reverses `amount` points that lot `lotId` (if any) was credited with: from that lot first, then
 * from other available points, then as debt.
 */
export async function reverse(
  ledger: MemberLedger,
  entry: EntryBase,
  amount: number,
  lotId: number | null,
): Promise<{ entryId: number | null; fromLot: number; fromOthers: number; debt: number }> {
  const lots =
    lotId === null
      ? []
      : await ledger.trx
          .raw<{ rows: { id: number; status: string; remaining: number }[] }>(
            'SELECT id, status, remaining FROM lots WHERE id = ?',
            [lotId],
          )
          .then((r) => r.rows);
  const lot = lots[0];
  const fromLot = Math.min(amount, lot?.remaining ?? 0);
  const others = await ledger.planFifo(amount - fromLot, lot?.id);
  const fromOthers = amount - fromLot - others.shortfall;
  const debt = others.shortfall;
  // A frozen lot (a flagged accrual not yet reviewed) gives back from the frozen bucket.
  const from = lot?.status ?? 'active';
  const entryId = await ledger.append({
    ...entry,
    pending: from === 'pending' ? -fromLot : 0,
    frozen: from === 'frozen' ? -fromLot : 0,
    available: -(from === 'active' ? fromLot : 0) - fromOthers,
    debt,
  });
  if (entryId !== null) {
    const takes: Take[] = fromLot > 0 && lot ? [{ lotId: lot.id, amount: fromLot }] : [];
    await ledger.moveLots(entryId, [...takes, ...others.takes], -1);
  }
  return { entryId, fromLot, fromOthers, debt };
}
