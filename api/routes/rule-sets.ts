import { z } from 'zod';
import { programSchema } from '../../domain/program';
import type { Db } from '../../infra/db';
import { loadRuleSet, publishRuleSet, type RuleSetRow } from '../../ledger/programs';
import { callerOf } from '../auth';
import { notFound } from '../problem';
import { defineRoute, type RouteSpec } from '../route';

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

export function ruleSetRoutes(deps: { db: Db }): RouteSpec[] {
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
      operationId: 'publishRuleSet',
      summary: 'Publish a new program version; it applies to every event from now on',
      tag: 'Program',
      auth: 'admin',
      idempotent: true,
      body: z.strictObject({ description: z.string().max(500).optional(), program: programSchema }),
      responses: { 201: { description: 'Published and active.', schema: ruleSet } },
      handler: async ({ body }, _req, res) => {
        const caller = callerOf(res);
        const row = await publishRuleSet(deps.db, body.program, {
          createdBy: `${caller.role}:${caller.name}`,
          description: body.description,
        });
        res.status(201).location(`/rule-sets/${row.version}`).json(view(row));
      },
    }),
  ];
}
