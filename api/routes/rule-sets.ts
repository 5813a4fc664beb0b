import { z } from 'zod';
import { programSchema } from '../../domain/program';
import { loadRuleSet, type RuleSetRow } from '../../ledger/programs';
import { callerOf } from '../auth';
import { notFound } from '../problem';
import { defineRoute, type RouteSpec } from '../route';
import {
  actorOf,
  assertPricedCeiling,
  createRuleChange,
  ruleChangeSchema,
  ruleChangeView,
  type RuleChangeDeps,
} from '../rule-changes';

const ruleSet = z.object({
  version: z.number().int(),
  description: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  program: z.record(z.string(), z.unknown()),
});

const view = (row: RuleSetRow) => ({
  version: row.version,
  description: row.description,
  createdBy: row.created_by,
  createdAt: row.created_at.toISOString(),
  program: row.program,
});

export function ruleSetRoutes(deps: RuleChangeDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/rule-sets/active',
      operationId: 'getActiveRuleSet',
      summary:
        'The program version in force: earning rules, caps, tiers and their benefits, expiry',
      tag: 'Program',
      auth: 'readonly',
      responses: { 200: { description: 'The newest version.', schema: ruleSet } },
      handler: async (_input, _req, res) => {
        const { version } = await loadRuleSet(deps.db);
        const row = await deps.db<RuleSetRow>('rule_sets').where({ version }).first();
        res.json(view(row!));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/rule-sets/:version',
      operationId: 'getRuleSet',
      summary: 'One program version, as it was published',
      tag: 'Program',
      auth: 'readonly',
      params: z.object({ version: z.coerce.number().int().min(1) }),
      responses: { 200: { description: 'The version.', schema: ruleSet } },
      handler: async ({ params }, _req, res) => {
        const row = await deps
          .db<RuleSetRow>('rule_sets')
          .where({ version: params.version })
          .first();
        if (!row) throw notFound('rule set', 'version', String(params.version));
        res.json(view(row));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/rule-sets',
      operationId: 'proposeRuleSet',
      summary:
        'Ask for a new program version: a change request (draft, or proposed at once), put in force only once approved and scheduled or launched',
      tag: 'Program',
      auth: 'admin',
      body: z.strictObject({
        description: z.string().max(500).optional(),
        program: programSchema,
        propose: z
          .boolean()
          .default(false)
          .describe('Propose it for approval at once (a draft otherwise).'),
      }),
      responses: {
        201: {
          description:
            'The change request (`Location: /rule-changes/<id>`). Nothing is in force yet: approve it, then schedule it (`activateAt` now for at once) or launch it.',
          schema: ruleChangeSchema,
        },
      },
      handler: async ({ body }, _req, res) => {
        assertPricedCeiling(deps.config, body.program);
        const row = await createRuleChange(deps, {
          ...actorOf(callerOf(res)),
          description: body.description ?? null,
          program: body.program,
          propose: body.propose,
        });
        res.status(201).location(`/rule-changes/${row.id}`).json(ruleChangeView(deps.config, row));
      },
    }),
  ];
}
