/**
 * Suspending and reinstating a member (ops, reason required, Idempotency-Key): the ledger writes
 * the status, the audit row and the programme event in one transaction (ledger/suspension.ts);
 * then the member's lifecycle workflow is told, so its `MemberStatus` search attribute follows.
 */
import { z } from 'zod';
import type { Db } from '../../infra/db';
import {
  reinstateMember,
  suspendMember,
  suspensionHistory,
  type SuspensionResult,
} from '../../ledger/suspension';
import { callerOf } from '../auth';
import { notifyLifecycle, type LifecycleDeps } from '../lifecycle';
import { defineRoute, type RouteSpec } from '../route';

const memberParams = z.object({ id: z.uuid() });
const body = z.strictObject({
  reason: z.string().trim().min(3).max(500).describe('Why: kept in the audit and the event.'),
});
const iso = z.iso.datetime();

const answer = z.object({
  id: z.uuid(),
  status: z.enum(['active', 'dormant', 'suspended']),
  changed: z.boolean().describe('False when the member was suspended already (suspend only).'),
  suspendedAt: iso.nullable(),
  suspensionReason: z.string().nullable(),
});

const view = ({ member, changed }: SuspensionResult) => ({
  id: member.id,
  status: member.status,
  changed,
  suspendedAt: member.suspended_at?.toISOString() ?? null,
  suspensionReason: member.suspension_reason ?? null,
});

export function suspensionRoutes(deps: LifecycleDeps & { db: Db }): RouteSpec[] {
  const change = (
    action: 'suspend' | 'reinstate',
    summary: string,
    run: typeof suspendMember,
  ): RouteSpec =>
    defineRoute({
      method: 'post',
      path: `/members/:id/${action}`,
      operationId: `${action}Member`,
      summary,
      tag: 'Members',
      auth: 'ops',
      params: memberParams,
      body,
      responses: {
        200: { description: 'The member after the change.', schema: answer },
        409: {
          description:
            action === 'suspend' ? 'The member is closed.' : 'The member is not suspended.',
        },
      },
      handler: async ({ params, body }, _req, res) => {
        const caller = callerOf(res);
        const result = await run(deps.db, {
          memberId: params.id,
          reason: body.reason,
          actor: `${caller.role}:${caller.name}`,
        });
        if (result.changed) await notifyLifecycle(deps, result.member, ['status']);
        res.json(view(result));
      },
    });
  return [
    change('suspend', 'Suspend a member: no earning, no redeeming until reinstated', suspendMember),
    change('reinstate', 'Reinstate a suspended member (active again)', reinstateMember),
    defineRoute({
      method: 'get',
      path: '/members/:id/suspensions',
      operationId: 'memberSuspensions',
      summary: "A member's suspensions and reinstatements: who, when, why (newest first)",
      tag: 'Members',
      auth: 'readonly',
      params: memberParams,
      responses: {
        200: {
          description: 'The audit trail, at most 50 rows.',
          schema: z.object({
            items: z.array(
              z.object({
                action: z.enum(['suspend', 'reinstate']),
                reason: z.string(),
                actor: z.string(),
                at: iso,
              }),
            ),
          }),
        },
      },
      handler: async ({ params }, _req, res) => {
        res.json({ items: await suspensionHistory(deps.db, params.id) });
      },
    }),
  ];
}
