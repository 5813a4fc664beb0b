/**
 * Redemptions held for review as ops see them: the queue (oldest first, with the reasons and the
 * deadline from the `in_review` step) and whether a decision was already taken as asked.
 */
import type { ReviewDecision, ReviewReason } from '../domain/redemption';
import type { Db } from '../infra/db';
import type { StepRow } from './records';

export interface ReviewRow {
  id: string;
  member_id: string;
  reward_id: string;
  quantity: number;
  points: number | null;
  created_at: Date;
  detail: { reasons?: ReviewReason[]; deadlineAt?: string; onTimeout?: string };
}

/** In review now, oldest first, with the `in_review` step's detail. */
export async function listInReview(db: Db, limit: number): Promise<ReviewRow[]> {
  const { rows } = await db.raw<{ rows: ReviewRow[] }>(
    `SELECT r.id, r.member_id, r.reward_id, r.quantity, r.points, r.created_at, s.detail
     FROM redemptions r
     JOIN LATERAL (SELECT detail FROM redemption_steps s
       WHERE s.redemption_id = r.id AND s.step = 'in_review' ORDER BY seq DESC LIMIT 1) s ON true
     WHERE r.status = 'in_review'
     ORDER BY r.created_at, r.id LIMIT ?`,
    [limit],
  );
  return rows;
}

/** The decision written for this redemption, if any: `{ decision, by, reason }`. */
export function decisionOf(steps: StepRow[]): Record<string, unknown> | null {
  return steps.find((s) => s.step === 'review_decided')?.detail ?? null;
}

/** The same decision, by the same caller with the same reason, is recorded already (a retry). */
export function alreadyDecided(steps: StepRow[], asked: ReviewDecision): boolean {
  const d = decisionOf(steps);
  const wanted = asked.decision === 'approve' ? 'approved' : 'rejected';
  return !!d && d.decision === wanted && d.by === asked.actor && d.reason === asked.reason;
}
