import { z } from 'zod';
import { auditTrail, auditView } from '../../changes/audit';
import { listRuleChanges } from '../../changes/rule-changes';
import { programSchema } from '../../domain/program';
import {
  approveRuleChangeUpdate,
  editRuleChangeUpdate,
  proposeRuleChangeUpdate,
  rejectRuleChangeUpdate,
  scheduleRuleChangeUpdate,
  withdrawRuleChangeUpdate,
} from '../../workflows/rule-change-messages';
import { callerOf } from '../auth';
import { Problem } from '../problem';
import { defineRoute, type RouteSpec } from '../route';
import {
  actorOf,
  assertPricedCeiling,
  commandRuleChange,
  loadRuleChange,
  ruleChangeSchema,
  ruleChangeStates,
  ruleChangeView,
  type RuleChangeDeps,
} from '../rule-changes';

const params = z.object({ id: z.uuid() });
const reason = z.string().trim().min(3).max(500);
/** A schedule may say "now"; one this far in the past is a mistake, not "now". */
const pastToleranceMs = 5 * 60_000;

const audit = z.object({
  at: z.iso.datetime(),
  action: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  actor: z.string(),
  reason: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});

const answered = {
  200: { description: 'The change request as it now is.', schema: ruleChangeSchema },
  403: { description: 'Not an admin, or the proposer approving their own change.' },
  404: { description: 'No such change request.' },
  409: { description: 'Not in a state that allows it, or already approved by this caller.' },
};

/** Change requests for program versions (`rule-change:<id>` workflows). */
export function ruleChangeRoutes(deps: RuleChangeDeps): RouteSpec[] {
  const command = (
    path: string,
    operationId: string,
    summary: string,
    body: z.ZodObject,
    send: (id: string, body: never, res: Parameters<typeof callerOf>[0]) => Promise<unknown>,
  ) =>
    defineRoute({
      method: 'post',
      path: `/rule-changes/:id/${path}`,
      operationId,
      summary,
      tag: 'Rule changes',
      auth: 'admin',
      params,
      body,
      responses: answered,
      handler: async ({ params: { id }, body: input }, _req, res) => {
        await send(id, input as never, res);
        res.json(ruleChangeView(deps.config, await loadRuleChange(deps.db, id)));
      },
    });

  return [
    defineRoute({
      method: 'get',
      path: '/rule-changes',
      operationId: 'listRuleChanges',
      summary:
        'Change requests for the rules, newest first; `?state=proposed` is what awaits review',
      tag: 'Rule changes',
      auth: 'readonly',
      query: z.object({
        state: z.enum(ruleChangeStates).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      responses: {
        200: {
          description: 'Change requests.',
          schema: z.object({ ruleChanges: z.array(ruleChangeSchema) }),
        },
      },
      handler: async ({ query }, _req, res) => {
        const rows = await listRuleChanges(deps.db, query);
        res.json({ ruleChanges: rows.map((row) => ruleChangeView(deps.config, row)) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/rule-changes/:id',
      operationId: 'getRuleChange',
      summary: 'A change request: its program, diff, approvals, what-if, schedule and workflow',
      tag: 'Rule changes',
      auth: 'readonly',
      params,
      responses: {
        200: { description: 'The change request.', schema: ruleChangeSchema },
        404: { description: 'No such change request.' },
      },
      handler: async ({ params: { id } }, _req, res) => {
        res.json(ruleChangeView(deps.config, await loadRuleChange(deps.db, id)));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/rule-changes/:id/audit',
      operationId: 'getRuleChangeAudit',
      summary: "A change request's audit trail: every transition, who, when and why",
      tag: 'Rule changes',
      auth: 'readonly',
      params,
      responses: {
        200: { description: 'Oldest first.', schema: z.object({ audit: z.array(audit) }) },
        404: { description: 'No such change request.' },
      },
      handler: async ({ params: { id } }, _req, res) => {
        await loadRuleChange(deps.db, id);
        const rows = await auditTrail(deps.db, 'rule-change', id);
        res.json({ audit: rows.map(auditView) });
      },
    }),
    defineRoute({
      method: 'put',
      path: '/rule-changes/:id',
      operationId: 'editRuleChange',
      summary: 'Edit a draft or proposed change: its approvals are revoked, it is diffed anew',
      tag: 'Rule changes',
      auth: 'admin',
      params,
      body: z.strictObject({
        description: z.string().max(500).optional(),
        program: programSchema,
      }),
      responses: answered,
      handler: async ({ params: { id }, body }, _req, res) => {
        assertPricedCeiling(deps.config, body.program);
        const row = await commandRuleChange(deps, id, editRuleChangeUpdate, {
          ...actorOf(callerOf(res)),
          description: body.description,
          program: body.program,
        });
        res.json(ruleChangeView(deps.config, row));
      },
    }),
    command(
      'propose',
      'proposeRuleChange',
      'Propose a draft for approval (diffed against the version in force)',
      z.strictObject({ reason: reason.optional() }),
      (id, body: { reason?: string }, res) =>
        commandRuleChange(deps, id, proposeRuleChangeUpdate, {
          ...actorOf(callerOf(res)),
          reason: body.reason,
        }),
    ),
    command(
      'approve',
      'approveRuleChange',
      'Approve a proposed change (never its proposer; the last approval needed publishes the version)',
      z.strictObject({ reason }),
      (id, body: { reason: string }, res) =>
        commandRuleChange(deps, id, approveRuleChangeUpdate, {
          ...actorOf(callerOf(res)),
          reason: body.reason,
        }),
    ),
    command(
      'reject',
      'rejectRuleChange',
      'Reject a proposed change',
      z.strictObject({ reason }),
      (id, body: { reason: string }, res) =>
        commandRuleChange(deps, id, rejectRuleChangeUpdate, {
          ...actorOf(callerOf(res)),
          reason: body.reason,
        }),
    ),
    command(
      'withdraw',
      'withdrawRuleChange',
      'Withdraw a change before it takes effect (a schedule is cancelled)',
      z.strictObject({ reason }),
      (id, body: { reason: string }, res) =>
        commandRuleChange(deps, id, withdrawRuleChangeUpdate, {
          ...actorOf(callerOf(res)),
          reason: body.reason,
        }),
    ),
    command(
      'schedule',
      'scheduleRuleChange',
      'Schedule an approved change to take effect at `activateAt` (or the next slot the launch window allows)',
      z.strictObject({
        activateAt: z.iso
          .datetime({ offset: true })
          .describe('When it takes effect; now or later. Moved out of blackouts, and says so.'),
        reason: reason.optional(),
      }),
      (id, body: { activateAt: string; reason?: string }, res) => {
        const at = Date.parse(body.activateAt);
        if (at < Date.now() - pastToleranceMs) {
          throw new Problem('validation', 'The activation time is in the past.', {
            errors: [{ field: 'activateAt', message: 'must be now or later' }],
          });
        }
        return commandRuleChange(deps, id, scheduleRuleChangeUpdate, {
          ...actorOf(callerOf(res)),
          activateAt: at,
          reason: body.reason,
        });
      },
    ),
  ];
}
