import type { Db } from '../infra/db';
import { reviewMember, type Review } from '../ledger/lifecycle';

export interface ProgramEventRow {
  id: number;
  type: string;
  member_id: string | null;
  dedupe_key: string;
  payload: Record<string, unknown>;
  occurred_at: Date;
}

export interface ReviewResult extends Omit<Review, 'wakeAt'> {
  wakeAt: number | null;
}

/** Member side effects in Postgres. Each is idempotent: a retried activity changes nothing twice. */
export function createMemberActivities({ db }: { db: Db }) {
  return {
    /**
     * Records the `member.enrolled` program event once, however often it is called. Enrolment
     * writes it with the member row now; only lifecycle runs started before that still call this,
     * and the dedupe key makes it a no-op where the event is there already.
     */
    async recordMemberEnrolled(input: { memberId: string; externalId: string; tier: string }) {
      await db<ProgramEventRow>('program_events')
        .insert({
          type: 'member.enrolled',
          member_id: input.memberId,
          dedupe_key: `member.enrolled:${input.memberId}`,
          payload: { externalId: input.externalId, tier: input.tier },
        })
        .onConflict('dedupe_key')
        .ignore();
    },

    /**
     * Runs every lifecycle step due at `asOf` (the workflow's clock): activation, reminders,
     * expiry, dormancy, tier renewal or downgrade. Returns when the next one is due.
     */
    async reviewMember(input: { memberId: string; asOf: number }): Promise<ReviewResult> {
      const review = await reviewMember(db, input.memberId, new Date(input.asOf));
      return { ...review, wakeAt: Number.isFinite(review.wakeAt) ? review.wakeAt : null };
    },
  };
}

export type MemberActivities = ReturnType<typeof createMemberActivities>;
