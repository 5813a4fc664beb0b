/**
 * Frozen points: an accrual the earning detectors flagged (frozen-screen.ts) is on the ledger in
 * the member's `frozen` bucket, with a lot of status `frozen`: it counts in the member's history
 * and total, but not in `available` (no redemption or hold can take it: FIFO spends active lots
 * only), it qualifies for no tier, and its expiry clock does not run (lifecycle reviews skip
 * frozen lots). Ops decide each once, with a reason, under the member's lock:
 *
 * - release: an `activation` entry moves the points to `available` (or `pending`, when the
 *   purchase's return window is still open), repaying debt first as any credit does; the lot's
 *   expiry counts from the release; the points qualify from then.
 * - void: a `reversal` entry takes the points off the ledger (the lot is emptied).
 *
 * The decision's audit row (`frozen_decisions`, one per entry: a second decision is refused), the
 * entry and the programme event (`points.released` / `points.voided`) are one transaction.
 */
import { ms } from '../domain/program';
import type { LifecycleChange } from '../domain/member';
import { conflict, notFound } from '../domain/refusal';
import type { Db } from '../infra/db';
import { loadRuleSet } from './programs';
import { withMember, type LedgerMemberRow } from './store';
import { checkUpgrade, qualifyingPoints } from './tiers';

export type FrozenDecision = 'release' | 'void';

export interface FrozenItem {
  entryId: number;
  eventId: string | null;
  points: number;
  original: number;
  reason: string;
  frozenAt: string;
  findings: { id: number; detector: string; why: string; at: string }[];
}

interface FrozenRow {
  entry_id: number;
  event_id: string | null;
  remaining: number;
  original: number;
  reason: string;
  created_at: Date;
  findings: { id: number; detector: string; why: string; at: string }[];
}

/** The member's frozen points waiting for review, oldest first, each with why it was flagged. */
export async function listFrozen(db: Db, memberId: string): Promise<FrozenItem[]> {
  const { rows } = await db.raw<{ rows: FrozenRow[] }>(
    `SELECT l.entry_id, e.source_event_id AS event_id, l.remaining, l.original, e.reason,
       l.created_at,
       (SELECT coalesce(json_agg(json_build_object('id', f.id, 'detector', f.detector,
          'why', f.why, 'at', f.at) ORDER BY f.id), '[]')
        FROM anomaly_findings f
        WHERE f.member_id = l.member_id AND f.subject = 'event:' || e.source_event_id) AS findings
     FROM lots l JOIN ledger_entries e ON e.id = l.entry_id
     WHERE l.member_id = ? AND l.status = 'frozen' AND l.remaining > 0
     ORDER BY l.id LIMIT 500`,
    [memberId],
  );
  return rows.map((r) => ({
    entryId: Number(r.entry_id),
    eventId: r.event_id,
    points: Number(r.remaining),
    original: Number(r.original),
    reason: r.reason,
    frozenAt: r.created_at.toISOString(),
    findings: r.findings.map((f) => ({ ...f, at: new Date(f.at).toISOString() })),
  }));
}

export interface DecideFrozenInput {
  memberId: string;
  entryId: number;
  decision: FrozenDecision;
  reason: string;
  actor: string;
}

export interface FrozenDecided {
  entryId: number;
  decision: FrozenDecision;
  points: number;
  /** The entry that released or voided the points. */
  decisionEntryId: number;
  /** Released: where the points went, and when they now expire. */
  state: 'available' | 'pending' | 'voided';
  expiresAt: string | null;
  decidedAt: string;
  member: LedgerMemberRow;
  changes: LifecycleChange[];
}

interface LotOfEntry {
  id: number;
  status: string;
  remaining: number;
  activates_at: Date | null;
  event_id: string | null;
}

export async function decideFrozen(
  db: Db,
  input: DecideFrozenInput,
  now: Date = new Date(),
): Promise<FrozenDecided> {
  return withMember(
    db,
    { id: input.memberId },
    async (ledger) => {
      ledger.assertOpen();
      const { rows } = await ledger.trx.raw<{ rows: LotOfEntry[] }>(
        `SELECT l.id, l.status, l.remaining, l.activates_at, e.source_event_id AS event_id
         FROM lots l JOIN ledger_entries e ON e.id = l.entry_id
         WHERE l.entry_id = ? AND l.member_id = ?`,
        [input.entryId, input.memberId],
      );
      const decided = await ledger
        .trx('frozen_decisions')
        .where({ entry_id: input.entryId, member_id: input.memberId })
        .first<{ decision: FrozenDecision; at: Date; actor: string } | undefined>();
      if (decided)
        throw conflict(
          `Frozen entry ${input.entryId} was already decided (${decided.decision}, ${decided.at.toISOString()}, ${decided.actor}).`,
          'entryId',
          `already decided: ${decided.decision}`,
        );
      const lot = rows[0];
      if (!lot || lot.status !== 'frozen')
        throw notFound('frozen entry of this member', 'entryId', String(input.entryId));
      const points = Number(lot.remaining);
      const what = `frozen points of ${lot.event_id ? `event ${lot.event_id}` : `entry ${input.entryId}`}`;
      const { program, version } = await loadRuleSet(ledger.trx, ledger.ruleVersion);
      const changes: LifecycleChange[] = [];
      let state: FrozenDecided['state'] = 'voided';
      let expiresAt: Date | null = null;
      let entryId: number | null;
      if (input.decision === 'release') {
        const pending = lot.activates_at !== null && lot.activates_at.getTime() > now.getTime();
        const repaid = pending ? 0 : Math.min(points, ledger.balances.debt);
        state = pending ? 'pending' : 'available';
        entryId = await ledger.append({
          kind: 'activation',
          frozen: -points,
          [state]: points - repaid,
          debt: -repaid,
          qualifying: points,
          reason: `${what} released: ${input.reason}${repaid ? ` (${repaid} repaying debt)` : ''}`,
          actor: input.actor,
          dedupeKey: `frozen.release:${input.entryId}`,
          ruleVersion: version,
        });
        if (entryId !== null && repaid > 0)
          await ledger.moveLots(entryId, [{ lotId: lot.id, amount: repaid }], -1);
        // The expiry clock starts at the release, or at the activation if still pending: a whole
        // lifetime of spendable points either way.
        const starts = pending ? lot.activates_at!.getTime() : now.getTime();
        expiresAt = new Date(starts + ms(program.expiry.lotLifetime));
        await ledger.trx.raw(
          'UPDATE lots SET status = ?, expires_at = ?, reminded_for = NULL WHERE id = ?',
          [pending ? 'pending' : 'active', expiresAt, lot.id],
        );
        changes.push('timers');
        // The release entry (written) qualifies the points from now on.
        const qualifying = await qualifyingPoints(ledger, program);
        if (checkUpgrade(ledger, program, `release of ${what}`, qualifying)) changes.push('tier');
      } else {
        entryId = await ledger.append({
          kind: 'reversal',
          frozen: -points,
          reason: `${what} voided: ${input.reason}`,
          actor: input.actor,
          dedupeKey: `frozen.void:${input.entryId}`,
          ruleVersion: version,
        });
        if (entryId !== null && points > 0)
          await ledger.moveLots(entryId, [{ lotId: lot.id, amount: points }], -1);
      }
      await ledger.trx('frozen_decisions').insert({
        entry_id: input.entryId,
        member_id: input.memberId,
        lot_id: lot.id,
        decision: input.decision,
        points,
        reason: input.reason,
        actor: input.actor,
        decision_entry_id: entryId,
        at: now,
      });
      const type = input.decision === 'release' ? 'points.released' : 'points.voided';
      ledger.programEvent(type, `${type}:${input.entryId}`, {
        entryId: input.entryId,
        eventId: lot.event_id,
        points,
        reason: input.reason,
        actor: input.actor,
        ...(input.decision === 'release' ? { state, expiresAt: expiresAt!.toISOString() } : {}),
      });
      const member = await ledger.save();
      return {
        entryId: input.entryId,
        decision: input.decision,
        points,
        decisionEntryId: entryId!,
        state,
        expiresAt: expiresAt?.toISOString() ?? null,
        decidedAt: now.toISOString(),
        member,
        changes,
      };
    },
    now,
  );
}

/** Frozen accruals all time, by event (the metric): frozen, released, voided. */
export async function frozenCounts(db: Db): Promise<Record<string, number>> {
  const { rows } = await db.raw<{ rows: { waiting: number; released: number; voided: number }[] }>(
    `SELECT
       (SELECT count(*)::int FROM lots WHERE status = 'frozen' AND remaining > 0) AS waiting,
       (SELECT count(*)::int FROM frozen_decisions WHERE decision = 'release') AS released,
       (SELECT count(*)::int FROM frozen_decisions WHERE decision = 'void') AS voided`,
  );
  const r = rows[0]!;
  return { frozen: r.waiting + r.released + r.voided, released: r.released, voided: r.voided };
}
