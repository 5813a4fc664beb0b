/**
 * Review holds, all time, for `/metrics`: how many redemptions were held, reminded, and decided
 * (approved or rejected, by ops or at the deadline), from the timeline steps (a partial index
 * keeps the count off the rest of the table).
 */
import type { Db } from '../infra/db';

export interface ReviewCounts {
  held: number;
  reminded: number;
  approved: number;
  rejected: number;
}

export async function reviewCounts(db: Db): Promise<ReviewCounts> {
  const { rows } = await db.raw<{ rows: { step: string; decision: string | null; n: number }[] }>(
    `SELECT step, detail->>'decision' AS decision, count(*)::int AS n FROM redemption_steps
     WHERE step IN ('in_review', 'review_reminded', 'review_decided') GROUP BY 1, 2`,
  );
  const counts: ReviewCounts = { held: 0, reminded: 0, approved: 0, rejected: 0 };
  for (const r of rows) {
    if (r.step === 'in_review') counts.held += r.n;
    else if (r.step === 'review_reminded') counts.reminded += r.n;
    else if (r.decision === 'approved') counts.approved += r.n;
    else counts.rejected += r.n;
  }
  return counts;
}
