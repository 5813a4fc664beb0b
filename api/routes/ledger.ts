import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../../infra/db';
import { adjustPoints, closeMember } from '../../ledger/adjustments';
import { auditMember, ledgerPage } from '../../ledger/queries';
import { callerOf } from '../auth';
import { idempotencyKeyOf } from '../idempotency';
import { notifyLifecycle, type LifecycleDeps } from '../lifecycle';
import { notFound } from '../problem';
import { bigintId, defineRoute, type RouteSpec } from '../route';

const memberParams = z.object({ id: z.uuid() });
const balance = z.object({
  available: z.number(),
  pending: z.number(),
  held: z.number(),
  debt: z.number(),
});
/** A ledger line's balances also name the frozen bucket (flagged accruals, ledger/frozen.ts). */
const lineBalance = balance.extend({
  frozen: z.number().describe('Flagged accruals waiting for review (not spendable).'),
});

const entry = z.object({
  id: z.number().int(),
  kind: z.enum([
    'accrual',
    'activation',
    'hold',
    'redemption',
    'release',
    'reversal',
    'expiry',
    'adjustment',
  ]),
  amount: z
    .number()
    .int()
    .describe('Change of the member total (available + pending + held + frozen - debt).'),
  deltas: lineBalance.describe('Change of each balance.'),
  qualifying: z.number().int().describe('Tier-qualifying points this entry adds or removes.'),
  reason: z.string(),
  actor: z.string(),
  sourceEventId: z.string().nullable(),
  holdId: z.string().nullable().describe('The redemption whose hold this entry moves.'),
  ruleVersion: z.number().int().nullable().describe('The program version that decided the points.'),
  at: z.iso.datetime(),
  balanceAfter: lineBalance
    .extend({ total: z.number().describe('available + pending + held + frozen - debt.') })
    .describe("The member's balances right after this entry (a running sum of the ledger)."),
  source: z
    .object({
      eventId: z.string(),
      type: z.string().nullable().describe('purchase, return, referral, review, custom.'),
      orderId: z.string().nullable(),
      occurredAt: z.iso.datetime().nullable(),
    })
    .nullable()
    .describe('The program event this entry came from (accruals, reversals); null otherwise.'),
});

async function assertMember(db: Db, id: string): Promise<void> {
  if (!(await db('members').where({ id }).first('id'))) throw notFound('member', 'id', id);
}

export function ledgerRoutes(deps: LifecycleDeps & { db: Db }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/members/:id/ledger',
      operationId: 'getMemberLedger',
      summary: "A member's ledger entries, oldest first: every balance line with its reason",
      tag: 'Ledger',
      auth: 'readonly',
      params: memberParams,
      query: z.object({
        after: bigintId(0).optional().describe('Entries after this id (from `nextAfter`).'),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      responses: {
        200: {
          description: 'One page of entries.',
          schema: z.object({ entries: z.array(entry), nextAfter: z.number().int().nullable() }),
        },
      },
      handler: async ({ params, query }, _req, res) => {
        await assertMember(deps.db, params.id);
        res.json(await ledgerPage(deps.db, params.id, query));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/members/:id/audit',
      operationId: 'auditMember',
      summary: "Recompute a member's balances from the ledger and check lots, holds and balances",
      tag: 'Ledger',
      auth: 'readonly',
      params: memberParams,
      responses: {
        200: {
          description:
            'The check; `consistent` is false with `problems` listed when anything disagrees.',
          schema: z.object({
            consistent: z.boolean(),
            fromLedger: balance.extend({ total: z.number() }),
            stored: balance,
            problems: z.array(z.string()),
          }),
        },
      },
      handler: async ({ params }, _req, res) => {
        await assertMember(deps.db, params.id);
        res.json(await auditMember(deps.db, params.id));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/members/:id/adjustments',
      operationId: 'adjustPoints',
      summary: 'Add or remove points by hand, with a reason (audited: the entry names who)',
      tag: 'Ledger',
      auth: 'ops',
      params: memberParams,
      body: z.strictObject({
        points: z
          .number()
          .int()
          .min(-1_000_000_000)
          .max(1_000_000_000)
          .refine((p) => p !== 0, 'must not be 0')
          .describe(
            'Positive adds a lot (expiring by policy); negative removes available points FIFO.',
          ),
        reason: z.string().trim().min(3).max(500),
        reference: z
          .string()
          .trim()
          .min(1)
          .max(200)
          .optional()
          .describe('A ticket or case number.'),
      }),
      responses: {
        201: {
          description: 'Adjusted.',
          schema: z.object({ entryId: z.number().int().nullable(), balance }),
        },
      },
      handler: async ({ params, body }, req, res) => {
        const caller = callerOf(res);
        const result = await adjustPoints(deps.db, {
          memberId: params.id,
          ...body,
          actor: `${caller.role}:${caller.name}`,
          dedupeKey: `${caller.keyId}:${idempotencyKeyOf(req) ?? randomUUID()}`,
        });
        res.status(201).json(result);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/members/:id/close',
      operationId: 'closeMember',
      summary: 'Close a member: remaining points are forfeited, the lifecycle workflow ends',
      tag: 'Members',
      auth: 'ops',
      params: memberParams,
      body: z.strictObject({ reason: z.string().trim().min(3).max(500) }),
      responses: {
        200: {
          description: 'Closed (or already closed).',
          schema: z.object({
            id: z.uuid(),
            status: z.literal('closed'),
            closedAt: z.iso.datetime(),
          }),
        },
        409: { description: 'Points are held by open redemptions.' },
      },
      handler: async ({ params, body }, _req, res) => {
        const caller = callerOf(res);
        const { member } = await closeMember(deps.db, {
          memberId: params.id,
          reason: body.reason,
          actor: `${caller.role}:${caller.name}`,
        });
        await notifyLifecycle(deps, member, ['closed']);
        res.json({ id: member.id, status: 'closed', closedAt: member.closed_at!.toISOString() });
      },
    }),
  ];
}
