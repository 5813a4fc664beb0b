import { z } from 'zod';
import { memberStatuses } from '../../domain/member';
import { enrolMember, findMember, lookupMembers, memberView, type MemberDeps } from '../members';
import { defineRoute, type RouteSpec } from '../route';

export const externalId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'letters, digits and . _ : @ - only');

export const enrolBody = z.strictObject({
  externalId: externalId.describe("The member's id in the client's own systems (unique)."),
  email: z.email().max(320).optional(),
  name: z.string().trim().min(1).max(200).optional(),
});

const member = z.object({
  id: z.uuid(),
  externalId: z.string(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  status: z.enum(memberStatuses),
  tier: z.string(),
  enrolledAt: z.iso.datetime(),
});

const balance = z.object({
  available: z.number().int().describe('Spendable now.'),
  pending: z.number().int().describe('Earned, activating after the return window.'),
  held: z.number().int().describe('Set aside for redemptions in progress.'),
  debt: z
    .number()
    .int()
    .describe('Reversed points that were already spent; later credits repay it.'),
});

const memberWithWorkflow = member.extend({
  balance,
  frozen: z
    .number()
    .int()
    .describe(
      'Points of flagged accruals waiting for review: not in `balance`, not spendable, not expiring (GET /members/:id/frozen).',
    ),
  tier: z.object({
    name: z.string(),
    benefits: z.record(z.string(), z.unknown()),
    qualifyingPoints: z.number().int().describe('In the rolling qualification window.'),
    qualifiesFor: z.string(),
    periodEndsAt: z.iso.datetime().nullable(),
    graceEndsAt: z.iso.datetime().nullable(),
    next: z
      .object({
        name: z.string(),
        qualifyingPoints: z.number().int(),
        pointsToGo: z.number().int(),
      })
      .nullable(),
  }),
  nextExpiry: z.object({ at: z.iso.datetime(), points: z.number().int() }).nullable(),
  lastActivityAt: z.iso.datetime().nullable(),
  workflow: z.object({
    id: z.string().describe('`member:<id>`'),
    runId: z.string().nullable(),
    status: z
      .string()
      .describe('Temporal execution status (RUNNING, COMPLETED, ...), NOT_FOUND or UNKNOWN.'),
    url: z.url().describe('The workflow in Temporal UI.'),
  }),
});

export function memberRoutes(deps: MemberDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/members',
      operationId: 'enrolMember',
      summary: 'Enrol a member (idempotent by externalId)',
      tag: 'Members',
      auth: 'ops',
      body: enrolBody,
      responses: {
        201: { description: 'Enrolled; the lifecycle workflow is running.', schema: member },
        200: {
          description: 'Already enrolled with these details: the same member.',
          schema: member,
        },
        409: { description: 'Already enrolled with other details.' },
        503: { description: 'Saved, but Temporal is unavailable: retry the same request.' },
      },
      handler: async ({ body }, _req, res) => {
        const result = await enrolMember(deps, body);
        res
          .status(result.created ? 201 : 200)
          .location(`/members/${result.member.id}`)
          .json(memberView(result.member));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/members',
      operationId: 'lookupMembers',
      summary: 'Find members by id, external id or email (`q` is any of the three)',
      tag: 'Members',
      auth: 'readonly',
      query: z
        .object({
          q: z
            .string()
            .trim()
            .min(1)
            .max(320)
            .optional()
            .describe('A member id, an external id or an email (exact; email in any case).'),
          externalId: externalId.optional(),
          email: z.string().trim().min(1).max(320).optional().describe('In any letter case.'),
          limit: z.coerce.number().int().min(1).max(100).default(20),
        })
        .refine((query) => [query.q, query.externalId, query.email].some((v) => v !== undefined), {
          message: 'name q, externalId or email',
          path: ['q'],
        }),
      responses: {
        200: {
          description:
            'The members matching every criterion given, oldest enrolment first (none: an empty list). `GET /members/:id` has tier progress and next expiry; `GET /redemptions?memberId=` the redemptions.',
          schema: z.object({ members: z.array(member.extend({ balance })) }),
        },
        422: { description: 'No criterion given, or one is not valid.' },
      },
      handler: async ({ query }, _req, res) => {
        const rows = await lookupMembers(deps.db, query);
        res.json({
          members: rows.map((row) => ({
            ...memberView(row),
            balance: {
              available: row.available,
              pending: row.pending,
              held: row.held,
              debt: row.debt,
            },
          })),
        });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/members/:id',
      operationId: 'getMember',
      summary: 'A member: balances, tier and progress to the next, next expiry, and its workflow',
      tag: 'Members',
      auth: 'readonly',
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'The member.', schema: memberWithWorkflow } },
      handler: async ({ params }, _req, res) => {
        res.json(await findMember(deps, params.id));
      },
    }),
  ];
}
