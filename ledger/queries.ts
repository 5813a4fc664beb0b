/** Read side: balances with tier progress and next expiry, the ledger page, and the audit. */
import type { Db } from '../infra/db';
import { ms, tierFor, tierIndex } from '../domain/program';
import { loadRuleSet } from './programs';
import { versionForMember } from './releases';
import type { LedgerMemberRow } from './store';

export interface EntryRow {
  id: number;
  member_id: string;
  kind: string;
  amount: number;
  available_delta: number;
  pending_delta: number;
  held_delta: number;
  debt_delta: number;
  frozen_delta: number;
  qualifying: number;
  reason: string;
  actor: string;
  source_event_id: string | null;
  hold_id: string | null;
  rule_version: number | null;
  created_at: Date;
}

/** The member's balances, tier and next expiry, as the version in force for the member has them. */
export async function memberSummary(db: Db, member: LedgerMemberRow, now: Date = new Date()) {
  const { program } = await loadRuleSet(db, await versionForMember(db, member.id));
  const since = new Date(now.getTime() - ms(program.tierPolicy.qualificationWindow));
  // The next expiry in SQL, not from every open lot (a heavy member has thousands): a lot's
  // effective date is the later of its own and, under the `activity` policy, the member's last
  // activity + lifetime (`effectiveExpiry`), so the first is the later of the earliest own date
  // and that, and the lots it takes are those whose own date is not after it.
  const activity =
    program.expiry.policy === 'activity' && member.last_activity_at
      ? new Date(member.last_activity_at.getTime() + ms(program.expiry.lotLifetime))
      : null;
  const [{ rows: q }, { rows: expiry }] = await Promise.all([
    db.raw<{ rows: { points: number | null }[] }>(
      `SELECT sum(qualifying)::bigint AS points FROM ledger_entries
       WHERE member_id = ? AND created_at > ? AND qualifying <> 0`,
      [member.id, since],
    ),
    db.raw<{ rows: { at: Date | null; points: number | null }[] }>(
      `WITH open AS (
         SELECT expires_at, remaining FROM lots
         WHERE member_id = :m AND remaining > 0 AND status <> 'frozen'),
       first AS (
         SELECT CASE WHEN min(expires_at) IS NULL THEN NULL
           ELSE greatest(min(expires_at), :activity::timestamptz) END AS at FROM open)
       SELECT first.at,
         (SELECT sum(remaining)::bigint FROM open WHERE expires_at <= first.at) AS points
       FROM first`,
      { m: member.id, activity },
    ),
  ]);
  const qualifying = Math.max(0, q[0]?.points ?? 0);
  const current = program.tiers[tierIndex(program, member.tier)]!;
  const next = program.tiers[tierIndex(program, member.tier) + 1];
  return {
    balance: {
      available: member.available,
      pending: member.pending,
      held: member.held,
      debt: member.debt,
    },
    /** Flagged accruals waiting for review: not in `balance`, not spendable, not expiring. */
    frozen: member.frozen,
    tier: {
      name: member.tier,
      benefits: current.benefits,
      qualifyingPoints: qualifying,
      qualifiesFor: tierFor(program, qualifying).name,
      periodEndsAt: member.tier_period_ends_at?.toISOString() ?? null,
      graceEndsAt: member.tier_grace_ends_at?.toISOString() ?? null,
      next: next
        ? {
            name: next.name,
            qualifyingPoints: next.qualifyingPoints,
            pointsToGo: Math.max(0, next.qualifyingPoints - qualifying),
          }
        : null,
    },
    nextExpiry: expiry[0]?.at
      ? { at: expiry[0].at.toISOString(), points: Number(expiry[0].points ?? 0) }
      : null,
    lastActivityAt: member.last_activity_at?.toISOString() ?? null,
  };
}

/** An entry with the member's balances after it, and the event it came from (if any). */
interface ExplainedRow extends EntryRow {
  after_available: number;
  after_pending: number;
  after_held: number;
  after_debt: number;
  after_frozen: number;
  after_total: number;
  event_type: string | null;
  event_order_id: string | null;
  event_occurred_at: Date | null;
}

/**
 * A page of a member's ledger, oldest first, each line explained: the balances after it (running
 * sums over the member's whole ledger, so any page starts where the one before ended) and the
 * program event it came from (its type and order id).
 */
export async function ledgerPage(
  db: Db,
  memberId: string,
  page: { after?: number | undefined; limit: number },
) {
  const { rows } = await db.raw<{ rows: ExplainedRow[] }>(
    `SELECT e.*, ev.type AS event_type, ev.order_id AS event_order_id,
       ev.occurred_at AS event_occurred_at
     FROM (
       SELECT le.*,
         sum(available_delta) OVER w AS after_available, sum(pending_delta) OVER w AS after_pending,
         sum(held_delta) OVER w AS after_held, sum(debt_delta) OVER w AS after_debt,
         sum(frozen_delta) OVER w AS after_frozen, sum(amount) OVER w AS after_total
       FROM ledger_entries le WHERE member_id = ?
       WINDOW w AS (ORDER BY id)
     ) e
     LEFT JOIN ledger_events ev ON ev.id = e.source_event_id
     WHERE e.id > ? ORDER BY e.id LIMIT ?`,
    [memberId, page.after ?? 0, page.limit + 1],
  );
  const more = rows.length > page.limit;
  const entries = rows.slice(0, page.limit).map((row) => ({
    ...entryView(row),
    balanceAfter: {
      available: Number(row.after_available),
      pending: Number(row.after_pending),
      held: Number(row.after_held),
      debt: Number(row.after_debt),
      frozen: Number(row.after_frozen),
      total: Number(row.after_total),
    },
    source: row.source_event_id
      ? {
          eventId: row.source_event_id,
          type: row.event_type,
          orderId: row.event_order_id,
          occurredAt: row.event_occurred_at?.toISOString() ?? null,
        }
      : null,
  }));
  return { entries, nextAfter: more ? entries[entries.length - 1]!.id : null };
}

export const entryView = (row: EntryRow) => ({
  id: row.id,
  kind: row.kind,
  amount: row.amount,
  deltas: {
    available: row.available_delta,
    pending: row.pending_delta,
    held: row.held_delta,
    debt: row.debt_delta,
    frozen: row.frozen_delta,
  },
  qualifying: row.qualifying,
  reason: row.reason,
  actor: row.actor,
  sourceEventId: row.source_event_id,
  holdId: row.hold_id,
  ruleVersion: row.rule_version,
  at: row.created_at.toISOString(),
});

/**
 * Recomputes a member's balances from the ledger and checks every projection against it: the
 * stored balances, the lots (each lot equals its movements; open lots add up to available,
 * pending and frozen), and the open holds (add up to held).
 */
export async function auditMember(db: Db, memberId: string) {
  const { rows } = await db.raw<{ rows: Record<string, number>[] }>(
    `SELECT
       (SELECT available FROM members WHERE id = :m) AS stored_available,
       (SELECT pending FROM members WHERE id = :m) AS stored_pending,
       (SELECT held FROM members WHERE id = :m) AS stored_held,
       (SELECT debt FROM members WHERE id = :m) AS stored_debt,
       (SELECT frozen FROM members WHERE id = :m) AS stored_frozen,
       coalesce(sum(available_delta), 0)::bigint AS available,
       coalesce(sum(pending_delta), 0)::bigint AS pending,
       coalesce(sum(held_delta), 0)::bigint AS held,
       coalesce(sum(debt_delta), 0)::bigint AS debt,
       coalesce(sum(frozen_delta), 0)::bigint AS frozen,
       coalesce(sum(amount), 0)::bigint AS total,
       (SELECT coalesce(sum(remaining), 0)::bigint FROM lots WHERE member_id = :m AND status = 'active') AS lots_active,
       (SELECT coalesce(sum(remaining), 0)::bigint FROM lots WHERE member_id = :m AND status = 'pending') AS lots_pending,
       (SELECT coalesce(sum(remaining), 0)::bigint FROM lots WHERE member_id = :m AND status = 'frozen') AS lots_frozen,
       (SELECT coalesce(sum(a.amount), 0)::bigint FROM hold_allocations a JOIN holds h ON h.id = a.hold_id
          WHERE h.member_id = :m AND h.status = 'held') AS allocated_held,
       (SELECT count(*)::bigint FROM lots l WHERE l.member_id = :m AND l.remaining <>
          (SELECT coalesce(sum(delta), 0) FROM lot_movements WHERE lot_id = l.id)) AS lots_off
     FROM ledger_entries WHERE member_id = :m`,
    { m: memberId },
  );
  const r = rows[0]!;
  const problems: string[] = [];
  for (const bucket of ['available', 'pending', 'held', 'debt', 'frozen'])
    if (r[`stored_${bucket}`] !== r[bucket])
      problems.push(`${bucket}: stored ${r[`stored_${bucket}`]}, ledger ${r[bucket]}`);
  if (r.lots_active !== r.available)
    problems.push(`active lots hold ${r.lots_active}, available is ${r.available}`);
  if (r.lots_pending !== r.pending)
    problems.push(`pending lots hold ${r.lots_pending}, pending is ${r.pending}`);
  if (r.lots_frozen !== r.frozen)
    problems.push(`frozen lots hold ${r.lots_frozen}, frozen is ${r.frozen}`);
  if (r.allocated_held !== r.held)
    problems.push(`open holds allocate ${r.allocated_held}, held is ${r.held}`);
  if (r.lots_off) problems.push(`${r.lots_off} lots differ from the sum of their movements`);
  return {
    consistent: problems.length === 0,
    fromLedger: {
      available: r.available!,
      pending: r.pending!,
      held: r.held!,
      debt: r.debt!,
      total: r.total!,
    },
    stored: {
      available: r.stored_available!,
      pending: r.stored_pending!,
      held: r.stored_held!,
      debt: r.stored_debt!,
    },
    problems,
  };
}
