/**
 * Frozen points under review (ledger/frozen.ts): the member's flagged accruals with why they were
 * flagged, and ops' decision on each (release or void, reason required, Idempotency-Key), written
 * with its audit row and programme event in one transaction; a second decision is a 409. After a
 * release the member's lifecycle workflow is told (the points now have an expiry to watch).
 */
import { z } from 'zod';
import type { Db } from '../../infra/db';
import { decideFrozen, listFrozen, type FrozenDecided } from '../../ledger/frozen';
import { callerOf } from '../auth';
import { notifyLifecycle, type LifecycleDeps } from '../lifecycle';
import { bigintId, defineRoute, type RouteSpec } from '../route';

const memberParams = z.object({ id: z.uuid() });
const entryParams = memberParams.extend({
  entryId: bigintId().describe('The frozen accrual entry (GET .../frozen).'),
});
const body = z.strictObject({
  reason: z.string().trim().min(3).max(500).describe('Why: kept in the audit and the event.'),
});
const iso = z.iso.datetime();

const item = z.object({
  entryId: z.number().int().describe('The ledger entry that froze the points.'),
  eventId: z.string().nullable().describe('The event that earned them.'),
  points: z.number().int().describe('Frozen now (less than `original` if a return took some).'),
  original: z.number().int(),
  reason: z.string().describe("The accrual entry's reason."),
  frozenAt: iso,
  findings: z
    .array(z.object({ id: z.number().int(), detector: z.string(), why: z.string(), at: iso }))
    .describe('Why it was flagged (anomaly_findings about the event).'),
});

const answer = z.object({
  entryId: z.number().int(),
  decision: z.enum(['release', 'void']),
  points: z.number().int(),
  decisionEntryId: z.number().int().describe('The entry that released or voided the points.'),
  state: z
    .enum(['available', 'pending', 'voided'])
    .describe('Released to available (or pending, inside the return window), or voided.'),
  expiresAt: iso
    .nullable()
    .describe(
      'Released: a whole lot lifetime from the release (released pending: from its activation).',
    ),
  decidedAt: iso,
});

const view = ({ member: _member, changes: _changes, ...decided }: FrozenDecided) => decided;

export function frozenRoutes(deps: LifecycleDeps & { db: Db }): RouteSpec[] {
  const decide = (decision: 'release' | 'void', summary: string): RouteSpec =>
    defineRoute({
      method: 'post',
      path: `/members/:id/frozen/:entryId/${decision}`,
      operationId: decision === 'release' ? 'releaseFrozenPoints' : 'voidFrozenPoints',
      summary,
      tag: 'Members',
      auth: 'ops',
      params: entryParams,
      body,
      responses: {
        200: { description: 'Decided.', schema: answer },
        404: { description: 'No such member, or no frozen entry of this member with that id.' },
        409: { description: 'Already decided (released or voided), or the member is closed.' },
      },
      handler: async ({ params, body }, _req, res) => {
        const caller = callerOf(res);
        const result = await decideFrozen(deps.db, {
          memberId: params.id,
          entryId: params.entryId,
          decision,
          reason: body.reason,
          actor: `${caller.role}:${caller.name}`,
        });
        await notifyLifecycle(deps, result.member, result.changes);
        res.json(view(result));
      },
    });
  return [
    defineRoute({
      method: 'get',
      path: '/members/:id/frozen',
      operationId: 'memberFrozenPoints',
      summary: "A member's frozen points waiting for review, with why each accrual was flagged",
      tag: 'Members',
      auth: 'readonly',
      params: memberParams,
      responses: {
        200: {
          description: 'Oldest first, at most 500.',
          schema: z.object({ total: z.number().int(), items: z.array(item) }),
        },
      },
      handler: async ({ params }, _req, res) => {
        const items = await listFrozen(deps.db, params.id);
        res.json({ total: items.reduce((s, i) => s + i.points, 0), items });
      },
    }),
    decide('release', 'Release frozen points: spendable now, expiring a lifetime from now'),
    decide('void', 'Void frozen points: a reversing entry takes them off the ledger'),
  ];
}
