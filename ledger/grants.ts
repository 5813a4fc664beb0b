/**
 * Point grants (the bulk import's `grants` CSV): a positive adjustment made once per grant id.
 * The grant id is the idempotency key (`grant:<grantId>` on the entry), so a file imported twice
 * credits nothing twice; the same id reused for a different grant is refused, not ignored.
 */
import { Problem } from '../api/problem';
import { ms } from '../domain/program';
import type { Db } from '../infra/db';
import { credit } from './points';
import { loadRuleSet } from './programs';
import { withMember, type MemberLedger } from './store';

export interface GrantInput {
  grantId: string;
  externalId: string;
  points: number;
  reason: string;
  actor: string;
}

export interface GrantResult {
  /** False when this grant was already in the ledger (nothing changed). */
  granted: boolean;
  entryId: number;
  memberId: string;
}

/**
 * Credits `points` to the member with `externalId` as an active lot expiring by program policy.
 * Answers `granted: false` when this grant is already in the ledger. Throws a `Problem` (with the
 * CSV field at fault) for an unknown or closed member, or a grant id used for another grant.
 */
export async function grantPoints(
  db: Db,
  input: GrantInput,
  now: Date = new Date(),
): Promise<GrantResult> {
  const dedupeKey = `grant:${input.grantId}`;
  const reason = `grant ${input.grantId}: ${input.reason}`;
  return withMember(
    db,
    { externalId: input.externalId },
    async (ledger) => {
      if (ledger.member.status === 'closed') {
        const existing = await alreadyGranted(ledger, dedupeKey, input.points, reason);
        if (existing !== null) return existing;
        throw new Problem('conflict', `Member '${input.externalId}' is closed.`, {
          errors: [{ field: 'externalId', message: 'the member is closed' }],
        });
      }
      const { version, program } = await loadRuleSet(ledger.trx);
      const { entryId } = await credit(
        ledger,
        { kind: 'adjustment', reason, actor: input.actor, dedupeKey, ruleVersion: version },
        input.points,
        {
          status: 'active',
          activatesAt: null,
          expiresAt: new Date(now.getTime() + ms(program.expiry.lotLifetime)),
        },
      );
      if (entryId === null) {
        const existing = await alreadyGranted(ledger, dedupeKey, input.points, reason);
        if (existing === null) throw new Error(`entry ${dedupeKey} neither inserted nor found`);
        return existing;
      }
      ledger.programEvent('points.adjusted', `points.adjusted:${entryId}`, {
        points: input.points,
        reason,
        actor: input.actor,
      });
      await ledger.save();
      return { granted: true, entryId, memberId: ledger.member.id };
    },
    now,
  );
}

/** The earlier entry of this grant; a different grant under the same id is a conflict. */
async function alreadyGranted(
  ledger: MemberLedger,
  dedupeKey: string,
  points: number,
  reason: string,
): Promise<GrantResult | null> {
  const { rows } = await ledger.trx.raw<{
    rows: { id: number; member_id: string; amount: number; reason: string }[];
  }>('SELECT id, member_id, amount, reason FROM ledger_entries WHERE dedupe_key = ?', [dedupeKey]);
  const entry = rows[0];
  if (!entry) return null;
  if (entry.member_id !== ledger.member.id || entry.amount !== points || entry.reason !== reason) {
    throw new Problem('conflict', `Grant id of ${dedupeKey} was used for another grant.`, {
      errors: [
        {
          field: 'grantId',
          message: `already used for another grant (entry ${entry.id}: ${entry.amount} points)`,
        },
      ],
    });
  }
  return { granted: false, entryId: entry.id, memberId: entry.member_id };
}
