/**
 * `GET /program/budgets`: each programme budget in force, its period, limit, usage, state and
 * projected run-out (budgets/report.ts). Read like programme health: any readonly key.
 */
import { z } from 'zod';
import type { Db } from '../../infra/db';
import { budgetReport, rateWindowMs } from '../../budgets/report';
import { defineRoute, type RouteSpec } from '../route';

const iso = z.iso.datetime({ offset: true });

const budget = z.object({
  budget: z
    .string()
    .describe(
      'points.day, points.month, reward.<id>.day|month, campaign.<tag>.day|month, giftcards.<CUR>.month, liability',
    ),
  kind: z.enum(['points', 'redemptions', 'campaignRedemptions', 'giftCardSpend', 'liability']),
  rewardId: z.string().nullable(),
  campaign: z.string().nullable(),
  unit: z
    .string()
    .describe(
      'points, redemptions, or the currency of a gift-card spend budget or liability ceiling',
    ),
  period: z
    .object({
      name: z.enum(['day', 'month', 'standing']),
      id: z.string().describe('2026-12-05 or 2026-12, in the programme time zone; standing'),
      start: iso.nullable(),
      end: iso.nullable().describe('exclusive'),
    })
    .describe('The liability ceiling is standing: no period, start and end null.'),
  limit: z.number(),
  used: z.number(),
  remaining: z.number(),
  percent: z
    .number()
    .describe(
      'used / limit x 100 (over 100 only for stopBonus points budgets and the liability ceiling)',
    ),
  state: z.enum(['ok', 'warning', 'exhausted']),
  atLimit: z.enum(['stopBonus', 'stopEarning', 'refuse', 'holdForApproval']),
  warnAt: z.array(z.number()),
  rate: z
    .object({ from: iso, to: iso, used: z.number(), perHour: z.number() })
    .describe(
      `Usage over the rate window: the last ${rateWindowMs / 60_000} minutes (from the period start if later); for the liability ceiling, the net change of the outstanding liability (negative when it fell).`,
    ),
  projectedExhaustion: iso
    .nullable()
    .describe(
      'When it runs out at that rate; null if not before the period ends (liability: if not rising); asOf if already out.',
    ),
});

const report = z.object({
  asOf: iso,
  timeZone: z.string(),
  ruleVersion: z.number().int().describe('The programme version in force whose budgets these are.'),
  budgets: z.array(budget),
});

export function budgetRoutes(deps: { db: Db }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/program/budgets',
      operationId: 'programBudgets',
      summary: 'Programme budgets: usage this period, state, projected run-out',
      tag: 'Programme health',
      auth: 'readonly',
      responses: { 200: { description: 'Each budget of the programme in force.', schema: report } },
      handler: async (_input, _req, res) => {
        res.json(await budgetReport(deps.db));
      },
    }),
  ];
}
