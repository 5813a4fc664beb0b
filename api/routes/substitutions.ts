import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import {
  alreadyDecided,
  candidateStock,
  getSubstitution,
  listSubstitutions,
  type SubstitutionRow,
} from '../../redemptions/substitutions';
import type { Db } from '../../infra/db';
import {
  decideSubstitutionUpdate,
  workflowIds,
  type SubstitutionDecision,
} from '../../workflows/shared';
import { callerOf } from '../auth';
import { notFound, Problem } from '../problem';
import type { RedemptionDeps } from '../redemptions';
import { defineRoute, type RouteSpec } from '../route';

const statuses = ['pending', 'approved', 'rejected', 'timed_out', 'no_candidates'] as const;
const params = z.object({ id: z.string().regex(/^[A-Za-z0-9._:@-]{1,128}$/) });
const reason = z.string().trim().min(3).max(500);

const view = (row: SubstitutionRow, stock: Map<string, number>) => ({
  redemptionId: row.redemption_id,
  memberId: row.member_id,
  rewardId: row.reward_id,
  mode: row.mode,
  status: row.status,
  candidates: row.candidates.map((c) => ({ ...c, available: stock.get(c.sku) ?? 0 })),
  chosenSku: row.chosen_sku,
  decidedBy: row.decided_by,
  reason: row.reason,
  deadlineAt: row.deadline_at?.toISOString() ?? null,
  createdAt: row.created_at.toISOString(),
  decidedAt: row.decided_at?.toISOString() ?? null,
});

const substitution = z.object({
  redemptionId: z.string(),
  memberId: z.uuid(),
  rewardId: z.string(),
  mode: z.enum(['auto', 'approval']),
  status: z.enum(statuses),
  candidates: z
    .array(
      z.object({
        sku: z.string(),
        name: z.string(),
        cashValue: z.number().describe('What the candidate is worth (the reward currency).'),
        pointsCost: z.number(),
        available: z.number().int().describe('Units in stock now (not when offered).'),
      }),
    )
    .describe('The substitutes on offer, closest in value first.'),
  chosenSku: z.string().nullable(),
  decidedBy: z.string().nullable().describe('An ops key, `policy` or `deadline`.'),
  reason: z.string().nullable(),
  deadlineAt: z.iso
    .datetime()
    .nullable()
    .describe('Approval mode: undecided by then, it times out (refund or backorder).'),
  createdAt: z.iso.datetime(),
  decidedAt: z.iso.datetime().nullable(),
});

async function views(db: Db, rows: SubstitutionRow[]) {
  const stock = await candidateStock(db, rows);
  return rows.map((row) => view(row, stock));
}

/**
 * Ops decide pending substitutions through the `substitution:<redemptionId>` workflow (an update,
 * so the answer says whether the decision took): approve one of the candidates, or reject.
 */
async function decide(deps: RedemptionDeps, id: string, decision: SubstitutionDecision) {
  const row = await getSubstitution(deps.db, id);
  if (!row) throw notFound('substitution', 'redemptionId', id);
  // The same decision again (a retried request): answered as it stands, nothing decided twice.
  if (alreadyDecided(row, decision)) return (await views(deps.db, [row]))[0]!;
  try {
    await deps.temporal.workflow
      .getHandle(workflowIds.substitution(id))
      .executeUpdate(decideSubstitutionUpdate, { args: [decision] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const now = await getSubstitution(deps.db, id);
      if (now && alreadyDecided(now, decision)) return (await views(deps.db, [now]))[0]!;
      const failure = err.cause as { type?: string; message?: string } | undefined;
      const field = failure?.type === 'NotACandidate' ? 'sku' : 'id';
      throw new Problem(
        failure?.type === 'NotACandidate' ? 'validation' : 'conflict',
        failure?.message ?? err.message,
        {
          errors: [{ field, message: failure?.message ?? 'not decidable' }],
        },
      );
    }
    if (err instanceof WorkflowNotFoundError) {
      throw new Problem('conflict', `The substitution for ${id} is no longer pending.`, {
        errors: [{ field: 'id', message: 'not pending' }],
      });
    }
    throw err;
  }
  return (await views(deps.db, [(await getSubstitution(deps.db, id))!]))[0]!;
}

export function substitutionRoutes(deps: RedemptionDeps): RouteSpec[] {
  const responses = {
    200: {
      description:
        'Decided: the substitution as it now is. The same decision repeated (same key, SKU and reason) answers this again and changes nothing.',
      schema: substitution,
    },
    404: { description: 'No substitution for this redemption.' },
    409: { description: 'Not pending any more (decided, timed out, or cancelled).' },
    422: { description: 'The SKU is not one of the candidates.' },
  };
  return [
    defineRoute({
      method: 'get',
      path: '/substitutions',
      operationId: 'listSubstitutions',
      summary:
        'Out-of-stock substitutions, oldest first; `?status=pending` is what ops must decide',
      tag: 'Substitutions',
      auth: 'readonly',
      query: z.object({
        status: z.enum(statuses).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      responses: {
        200: {
          description: 'Substitutions.',
          schema: z.object({ substitutions: z.array(substitution) }),
        },
      },
      handler: async ({ query }, _req, res) => {
        const rows = await listSubstitutions(deps.db, query);
        res.json({ substitutions: await views(deps.db, rows) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/substitutions/:id',
      operationId: 'getSubstitution',
      summary: "A redemption's substitution: candidates, decision, who and why",
      tag: 'Substitutions',
      auth: 'readonly',
      params,
      responses: {
        200: { description: 'The substitution.', schema: substitution },
        404: { description: 'No substitution for this redemption.' },
      },
      handler: async ({ params: { id } }, _req, res) => {
        const row = await getSubstitution(deps.db, id);
        if (!row) throw notFound('substitution', 'redemptionId', id);
        res.json((await views(deps.db, [row]))[0]);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/substitutions/:id/approve',
      operationId: 'approveSubstitution',
      summary: 'Approve a substitute for an out-of-stock reward (one of the candidates)',
      tag: 'Substitutions',
      auth: 'ops',
      params,
      body: z.strictObject({ sku: z.string().min(1).max(128), reason }),
      responses,
      handler: async ({ params: { id }, body }, _req, res) => {
        const caller = callerOf(res);
        const actor = `${caller.role}:${caller.name}`;
        res.json(
          await decide(deps, id, { approve: true, sku: body.sku, actor, reason: body.reason }),
        );
      },
    }),
    defineRoute({
      method: 'post',
      path: '/substitutions/:id/reject',
      operationId: 'rejectSubstitution',
      summary: 'Reject substitution: the member is refunded, or backordered if they opted in',
      tag: 'Substitutions',
      auth: 'ops',
      params,
      body: z.strictObject({ reason }),
      responses,
      handler: async ({ params: { id }, body }, _req, res) => {
        const caller = callerOf(res);
        const actor = `${caller.role}:${caller.name}`;
        res.json(await decide(deps, id, { approve: false, actor, reason: body.reason }));
      },
    }),
  ];
}
