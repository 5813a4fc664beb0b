/**
 * The time-driven half of the member lifecycle, run by the member workflow whenever one of its
 * timers fires: activate pending points, remind of coming expiry, expire lots, mark dormancy,
 * renew or step down tiers. Each step is idempotent and happens in one transaction; the answer
 * says when the next step is due, which the workflow turns into a durable timer.
 */
import { ms, tierFor, tierIndex, type Program } from '../domain/program';
import type { Db } from '../infra/db';
import { loadRuleSet } from './programs';
import { withMember, type LedgerMemberRow, type LotRow, type MemberLedger } from './store';
import { changeTier, qualifyingPoints } from './tiers';

export interface Review {
  tier: string;
  status: LedgerMemberRow['status'];
  /** Epoch ms of the next due step; the workflow sleeps until then (or a signal). */
  wakeAt: number;
  /** Program events recorded by this review. */
  happened: string[];
}

interface OpenLotRow extends LotRow {
  reminded_for: Date | null;
}

export async function reviewMember(db: Db, memberId: string, asOf: Date): Promise<Review> {
  return withMember(
    db,
    { id: memberId },
    async (ledger) => {
      const happened: string[] = [];
      // The member's version at the review, read with its lock: one review, one version.
      const { program, version } = await loadRuleSet(ledger.trx, ledger.ruleVersion);
      if (ledger.member.status === 'closed') {
        return { tier: ledger.member.tier, status: 'closed' as const, wakeAt: Infinity, happened };
      }
      await activateDue(ledger, version, happened);
      await expireDue(ledger, program, version, happened);
      await remindDue(ledger, program, happened);
      await markDormant(ledger, program, happened);
      await reviewTier(ledger, program, happened);
      const wakeAt = await nextWake(ledger, program);
      await ledger.save({ lifecycle_wake_at: new Date(wakeAt) });
      return { tier: ledger.member.tier, status: ledger.member.status, wakeAt, happened };
    },
    asOf,
  );
}

/** Open lots whose clock runs: a frozen lot neither expires nor is reminded of (ledger/frozen.ts). */
async function openLots(ledger: MemberLedger): Promise<OpenLotRow[]> {
  const { rows } = await ledger.trx.raw<{ rows: OpenLotRow[] }>(
    `SELECT * FROM lots WHERE member_id = ? AND remaining > 0 AND status <> 'frozen'
     ORDER BY expires_at, id`,
    [ledger.member.id],
  );
  return rows;
}

/** When a lot really expires: its own date, or under the activity policy later if active since. */
export function effectiveExpiry(
  program: Program,
  member: LedgerMemberRow,
  lot: Pick<LotRow, 'expires_at'>,
): number {
  const own = lot.expires_at.getTime();
  if (program.expiry.policy !== 'activity' || !member.last_activity_at) return own;
  return Math.max(own, member.last_activity_at.getTime() + ms(program.expiry.lotLifetime));
}

async function activateDue(ledger: MemberLedger, version: number, happened: string[]) {
  const now = ledger.now.getTime();
  const due = (await ledger.openLots('pending')).filter((l) => l.activates_at!.getTime() <= now);
  for (const lot of due) {
    // Debt is repaid before points become spendable, as by every credit (see points.ts).
    const repaid = Math.min(lot.remaining, ledger.balances.debt);
    const entryId = await ledger.append({
      kind: 'activation',
      pending: -lot.remaining,
      available: lot.remaining - repaid,
      debt: -repaid,
      reason: `pending points of lot ${lot.id} activated after the return window${repaid ? `, ${repaid} repaying debt` : ''}`,
      actor: 'lifecycle',
      dedupeKey: `activation:${lot.id}`,
      ruleVersion: version,
    });
    if (entryId === null) continue;
    if (repaid > 0) await ledger.moveLots(entryId, [{ lotId: lot.id, amount: repaid }], -1);
    await ledger.trx.raw(`UPDATE lots SET status = 'active' WHERE id = ?`, [lot.id]);
    happened.push('points.activated');
  }
}

/**
 * Expires what is past its date before points are spent or held, so an expired lot is never spent
 * even when the lifecycle workflow has not run its timer yet (a worker down, a backlog).
 */
export async function expireOverdue(ledger: MemberLedger): Promise<void> {
  const { program, version } = await loadRuleSet(ledger.trx, ledger.ruleVersion);
  await expireDue(ledger, program, version, []);
}

async function expireDue(
  ledger: MemberLedger,
  program: Program,
  version: number,
  happened: string[],
) {
  const now = ledger.now.getTime();
  const due = (await openLots(ledger)).filter(
    (l) => effectiveExpiry(program, ledger.member, l) <= now,
  );
  let total = 0;
  for (const lot of due) {
    const bucket = lot.status === 'pending' ? 'pending' : 'available';
    const entryId = await ledger.append({
      kind: 'expiry',
      [bucket]: -lot.remaining,
      reason: `lot ${lot.id} expired (${program.expiry.policy} expiry, earned ${lot.created_at.toISOString()})`,
      actor: 'lifecycle',
      dedupeKey: `expiry:${lot.id}:${ledger.now.toISOString()}`,
      ruleVersion: version,
    });
    if (entryId === null) continue;
    await ledger.moveLots(entryId, [{ lotId: lot.id, amount: lot.remaining }], -1);
    total += lot.remaining;
  }
  if (total > 0) {
    ledger.programEvent(
      'points.expired',
      `points.expired:${ledger.member.id}:${ledger.now.toISOString()}`,
      {
        points: total,
        lots: due.length,
        policy: program.expiry.policy,
      },
    );
    happened.push('points.expired');
  }
}

async function remindDue(ledger: MemberLedger, program: Program, happened: string[]) {
  const now = ledger.now.getTime();
  const before = ms(program.expiry.reminderBefore);
  const lots = (await openLots(ledger)).map((lot) => ({
    lot,
    at: effectiveExpiry(program, ledger.member, lot),
  }));
  const due = lots.filter(
    ({ lot, at }) => at - before <= now && lot.reminded_for?.getTime() !== at,
  );
  if (due.length === 0) return;
  const first = Math.min(...due.map((d) => d.at));
  const amount = due.reduce((sum, d) => sum + d.lot.remaining, 0);
  await ledger.trx.raw(
    `UPDATE lots SET reminded_for = r.at FROM unnest(?::bigint[], ?::timestamptz[]) AS r(id, at)
     WHERE lots.id = r.id`,
    [due.map((d) => d.lot.id), due.map((d) => new Date(d.at))],
  );
  ledger.programEvent(
    'points.expiring',
    `points.expiring:${ledger.member.id}:${new Date(first).toISOString()}:${due.map((d) => d.lot.id).join(',')}`,
    {
      points: amount,
      expiresAt: new Date(first).toISOString(),
      lastExpiresAt: new Date(Math.max(...due.map((d) => d.at))).toISOString(),
      policy: program.expiry.policy,
    },
  );
  happened.push('points.expiring');
}

const lastActive = (member: LedgerMemberRow): number =>
  (member.last_activity_at ?? member.enrolled_at).getTime();

async function markDormant(ledger: MemberLedger, program: Program, happened: string[]) {
  const member = ledger.member;
  if (member.status !== 'active') return;
  if (lastActive(member) + ms(program.dormancy.after) > ledger.now.getTime()) return;
  await ledger.save({ status: 'dormant' });
  ledger.programEvent('member.dormant', `member.dormant:${member.id}:${lastActive(member)}`, {
    lastActivityAt: new Date(lastActive(member)).toISOString(),
    reason: `no qualifying activity for ${program.dormancy.after}`,
  });
  happened.push('member.dormant');
}

async function reviewTier(ledger: MemberLedger, program: Program, happened: string[]) {
  const member = ledger.member;
  const now = ledger.now.getTime();
  const periodEnd = member.tier_period_ends_at?.getTime();
  if (periodEnd === undefined || periodEnd > now) return;
  const current = tierIndex(program, member.tier);
  const qualifying = await qualifyingPoints(ledger, program);
  if (tierIndex(program, tierFor(program, qualifying).name) >= current) {
    const renewed = new Date(now + ms(program.tierPolicy.tierPeriod));
    await ledger.save({ tier_period_ends_at: renewed, tier_grace_ends_at: null });
    ledger.programEvent('member.tier_renewed', `member.tier_renewed:${member.id}:${periodEnd}`, {
      tier: member.tier,
      qualifyingPoints: qualifying,
      until: renewed.toISOString(),
    });
    happened.push('member.tier_renewed');
    return;
  }
  const graceEnd = member.tier_grace_ends_at?.getTime();
  if (graceEnd === undefined) {
    const ends = new Date(periodEnd + ms(program.tierPolicy.gracePeriod));
    await ledger.save({ tier_grace_ends_at: ends });
    ledger.programEvent('member.tier_grace', `member.tier_grace:${member.id}:${periodEnd}`, {
      tier: member.tier,
      qualifyingPoints: qualifying,
      needed: program.tiers[current]!.qualifyingPoints,
      downgradeAt: ends.toISOString(),
    });
    happened.push('member.tier_grace');
    return;
  }
  if (graceEnd > now) return;
  const to = program.tiers[current - 1]!.name;
  changeTier(
    ledger,
    program,
    to,
    'down',
    `${qualifying} qualifying points at the end of the tier period and grace (needs ${program.tiers[current]!.qualifyingPoints})`,
  );
  happened.push('member.tier_changed');
}

async function nextWake(ledger: MemberLedger, program: Program): Promise<number> {
  const member = ledger.member;
  const now = ledger.now.getTime();
  const times = [now + ms(program.lifecycle.maxSleep)];
  const before = ms(program.expiry.reminderBefore);
  for (const lot of await openLots(ledger)) {
    const at = effectiveExpiry(program, member, lot);
    times.push(lot.reminded_for?.getTime() === at ? at : at - before);
    if (lot.status === 'pending') times.push(lot.activates_at!.getTime());
  }
  if (member.status === 'active') times.push(lastActive(member) + ms(program.dormancy.after));
  if (member.tier_grace_ends_at) times.push(member.tier_grace_ends_at.getTime());
  else if (member.tier_period_ends_at) times.push(member.tier_period_ends_at.getTime());
  return Math.max(now, Math.min(...times));
}
