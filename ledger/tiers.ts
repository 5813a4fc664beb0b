/**
 * Tiers from qualifying points in a rolling window. Upgrades happen at once, inside the
 * transaction that crossed the threshold; downgrades only at the end of a tier period, after a
 * grace period, one tier at a time (see `lifecycle.ts`).
 */
import { ms, tierFor, tierIndex, type Program } from '../domain/program';
import type { LedgerMemberRow, MemberLedger } from './store';

export type { LifecycleChange } from '../domain/member';

/** What a tier change needs of a member's ledger: `MemberLedger`, or a batch's in-memory draft. */
export interface TierLedger {
  readonly member: LedgerMemberRow;
  readonly now: Date;
  set(columns: Partial<Omit<LedgerMemberRow, 'id'>>): void;
  programEvent(type: string, dedupeKey: string, payload: Record<string, unknown>): void;
}

export async function qualifyingPoints(ledger: MemberLedger, program: Program): Promise<number> {
  const since = new Date(ledger.now.getTime() - ms(program.tierPolicy.qualificationWindow));
  const { rows } = await ledger.trx.raw<{ rows: { points: number | null }[] }>(
    `SELECT sum(qualifying)::bigint AS points FROM ledger_entries
     WHERE member_id = ? AND created_at > ? AND qualifying <> 0`,
    [ledger.member.id, since],
  );
  return Math.max(0, rows[0]?.points ?? 0);
}

/** Upgrades the member if `qualifying` points reach a higher tier; returns whether it did. */
export function checkUpgrade(
  ledger: TierLedger,
  program: Program,
  why: string,
  qualifying: number,
): boolean {
  const current = tierIndex(program, ledger.member.tier);
  const target = tierFor(program, qualifying);
  if (tierIndex(program, target.name) <= current) return false;
  changeTier(ledger, program, target.name, 'up', `${qualifying} qualifying points after ${why}`);
  return true;
}

/** Moves the member to tier `to`, starting a new tier period (saved with the transaction). */
export function changeTier(
  ledger: TierLedger,
  program: Program,
  to: string,
  direction: 'up' | 'down',
  reason: string,
): void {
  const from = ledger.member.tier;
  const periodEnds = new Date(ledger.now.getTime() + ms(program.tierPolicy.tierPeriod));
  ledger.set({
    tier: to,
    tier_period_ends_at: tierIndex(program, to) === 0 ? null : periodEnds,
    tier_grace_ends_at: null,
  });
  ledger.programEvent(
    'member.tier_changed',
    `member.tier_changed:${ledger.member.id}:${ledger.now.toISOString()}:${to}`,
    { from, to, direction, reason, benefits: program.tiers[tierIndex(program, to)]!.benefits },
  );
}
