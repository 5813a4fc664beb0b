import type { Db } from '../infra/db';

export interface ProgramEventRow {
  id: string;
  type: string;
  member_id: string | null;
  dedupe_key: string;
  payload: Record<string, unknown>;
  occurred_at: Date;
}

/** Member side effects in Postgres. Each is idempotent: a retried activity changes nothing twice. */
export function createMemberActivities({ db }: { db: Db }) {
  return {
    /** Records the `member.enrolled` program event once, however often it is called. */
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
  };
}

export type MemberActivities = ReturnType<typeof createMemberActivities>;
