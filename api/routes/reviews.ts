import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import type { ReviewDecision } from '../../domain/redemption';
import { conflict, invalid, notFound } from '../../domain/refusal';
import { getRedemption } from '../../redemptions/records';
import { alreadyDecided, listInReview } from '../../redemptions/reviews';
import { reviewRedemptionUpdate, workflowIds } from '../../workflows/shared';
import { callerOf } from '../auth';
import { Problem } from '../problem';
import { redemptionDetail } from '../redemption-detail';
import type { RedemptionDeps } from '../redemptions';
import { defineRoute, type RouteSpec } from '../route';

const params = z.object({ id: z.string().regex(/^[A-Za-z0-9._:@-]{1,128}$/) });

const reason = z.object({
  source: z.string(),
  summary: z.string(),
  details: z.record(z.string(), z.unknown()),
});

const review = z.object({
  redemptionId: z.string(),
  memberId: z.uuid(),
  rewardId: z.string(),
  quantity: z.number().int(),
  points: z.number().int().nullable(),
  reasons: z.array(reason).describe('Why it waits for a person.'),
  deadlineAt: z.iso.datetime().nullable().describe('Undecided by then, reviewOnTimeout decides.'),
  onTimeout: z.enum(['release', 'reject']).nullable(),
  createdAt: z.iso.datetime(),
});

/**
 * Ops decide a redemption in review through `redemption:<id>` (an update, so the answer says
 * whether the decision took). A repeat of the decision already taken answers as it stands.
 */
async function decide(deps: RedemptionDeps, id: string, asked: ReviewDecision): Promise<void> {
  const found = await getRedemption(deps.db, id);
  if (!found) throw notFound('redemption', 'id', id);
  if (alreadyDecided(found.steps, asked)) return; // a retried request: nothing decided twice
  try {
    await deps.temporal.workflow
      .getHandle(workflowIds.redemption(id))
      .executeUpdate(reviewRedemptionUpdate, { args: [asked] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const now = await getRedemption(deps.db, id);
      if (now && alreadyDecided(now.steps, asked)) return;
      const failure = err.cause as { type?: string; message?: string } | undefined;
      const message = failure?.message ?? err.message;
      if (failure?.type === 'Forbidden') throw new Problem('forbidden', message);
      if (failure?.type === 'InvalidReview') throw invalid(message, 'reason');
      throw conflict(message, 'id', 'not in review');
    }
    if (err instanceof WorkflowNotFoundError) {
      throw conflict(
        `Redemption ${id} is ${found.row.status}: not in review.`,
        'id',
        'not in review',
      );
    }
    throw err;
  }
}

export function reviewRoutes(deps: RedemptionDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/reviews',
      operationId: 'listReviews',
      summary: 'Redemptions held for review (in_review), oldest first, with their reasons',
      tag: 'Redemptions',
      auth: 'readonly',
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
      responses: {
        200: { description: 'In review now.', schema: z.object({ reviews: z.array(review) }) },
      },
      handler: async ({ query }, _req, res) => {
        const rows = await listInReview(deps.db, query.limit);
        res.json({
          reviews: rows.map((r) => ({
            redemptionId: r.id,
            memberId: r.member_id,
            rewardId: r.reward_id,
            quantity: r.quantity,
            points: r.points,
            reasons: r.detail.reasons ?? [],
            deadlineAt: r.detail.deadlineAt ?? null,
            onTimeout: r.detail.onTimeout ?? null,
            createdAt: r.created_at.toISOString(),
          })),
        });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/redemptions/:id/review',
      operationId: 'reviewRedemption',
      summary:
        'Decide a redemption held for review: approve (fulfilment goes on) or reject (points back)',
      tag: 'Redemptions',
      auth: 'ops',
      params,
      body: z.strictObject({
        decision: z.enum(['approve', 'reject']),
        reason: z.string().trim().min(3).max(500),
      }),
      responses: {
        200: {
          description:
            'Decided: the redemption as it now is. The same decision repeated (same caller and reason) answers this again and changes nothing.',
        },
        404: { description: 'No such redemption.' },
        409: { description: 'Not in review (never held, decided already, or ended).' },
        422: { description: 'Missing or unknown decision, or no reason.' },
      },
      handler: async ({ params: { id }, body }, _req, res) => {
        const caller = callerOf(res);
        const actor = `${caller.role}:${caller.name}`;
        await decide(deps, id, { decision: body.decision, reason: body.reason, actor });
        res.json(await redemptionDetail(deps, id, caller.role));
      },
    }),
  ];
}
