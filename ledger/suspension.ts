/**
 * Suspending a member and reinstating them (ops, with a reason): the status, the audit row
 * (`member_suspensions`: who, when, why) and the programme event (`member.suspended`,
 * `member.reinstated`) in one transaction under the member's lock.
 *
 * While suspended the member earns nothing (events and grants are refused with `MemberSuspended`,
 * so they can be sent again after reinstatement) and redeems nothing (refused before and at the
 * hold). Open redemptions go on: their points were held before the suspension.
 * Expiry keeps running: suspension stops what the member does, not the programme's clock, so
 * points do not outlive their lifetime because of an investigation (ops can restore them with
 * an adjustment if the suspension proves wrong). Dormancy does not apply to a suspended member.
 * Reinstated members are `active`; the next lifecycle review marks them dormant if they are.
 */
import { conflict, memberClosed } from '../domain/refusal';
import type { Db, Trx } from '../infra/db';
import { withMember, type LedgerMemberRow } from './store';

export interface SuspensionInput {
  memberId: string;
  reason: string;
  actor: string;
}

export interface SuspensionResult {
  /** False when the member was already in the asked state (a repeat changes nothing). */
  changed: boolean;
  member: LedgerMemberRow;
}

export async function suspendMember(
  db: Db,
  input: SuspensionInput,
  now: Date = new Date(),
): Promise<SuspensionResult> {
  return withMember(
    db,
    { id: input.memberId },
    async (ledger) => {
      ledger.assertOpen();
      if (ledger.member.status === 'suspended') return { changed: false, member: ledger.member };
      const from = ledger.member.status;
      await record(ledger.trx, input, 'suspend', now);
      ledger.programEvent(
        'member.suspended',
        `member.suspended:${input.memberId}:${now.toISOString()}`,
        {
          reason: input.reason,
          actor: input.actor,
          previousStatus: from,
        },
      );
      const member = await ledger.save({
        status: 'suspended',
        suspended_at: now,
        suspension_reason: input.reason,
      });
      return { changed: true, member };
    },
    now,
  );
}

export async function reinstateMember(
  db: Db,
  input: SuspensionInput,
  now: Date = new Date(),
): Promise<SuspensionResult> {
  return withMember(
    db,
    { id: input.memberId },
    async (ledger) => {
      if (ledger.member.status === 'closed') throw memberClosed(input.memberId);
      if (ledger.member.status !== 'suspended')
        throw conflict(
          `Member ${input.memberId} is ${ledger.member.status}, not suspended.`,
          'memberId',
          'the member is not suspended',
        );
      const since = ledger.member.suspended_at ?? null;
      await record(ledger.trx, input, 'reinstate', now);
      ledger.programEvent(
        'member.reinstated',
        `member.reinstated:${input.memberId}:${now.toISOString()}`,
        {
          reason: input.reason,
          actor: input.actor,
          suspendedAt: since?.toISOString() ?? null,
        },
      );
      const member = await ledger.save({
        status: 'active',
        suspended_at: null,
        suspension_reason: null,
      });
      return { changed: true, member };
    },
    now,
  );
}

async function record(
  trx: Trx,
  input: SuspensionInput,
  action: 'suspend' | 'reinstate',
  at: Date,
): Promise<void> {
  await trx('member_suspensions').insert({
    member_id: input.memberId,
    action,
    reason: input.reason,
    actor: input.actor,
    at,
  });
}

/** The member's suspensions and reinstatements, newest first (the member page's audit). */
export async function suspensionHistory(db: Db, memberId: string) {
  const { rows } = await db.raw<{
    rows: { action: 'suspend' | 'reinstate'; reason: string; actor: string; at: Date }[];
  }>(
    `SELECT action, reason, actor, at FROM member_suspensions WHERE member_id = ?
     ORDER BY id DESC LIMIT 50`,
    [memberId],
  );
  return rows.map((r) => ({ ...r, at: r.at.toISOString() }));
}
