import { z } from 'zod';
import { redemptionStatuses } from '../../domain/redemption';
import { findRedemptionRow, listRedemptions } from '../../redemptions/records';
import { Problem } from '../problem';
import { callerOf } from '../auth';
import { idempotencyKeyOf } from '../idempotency';
import {
  cancelRedemption,
  redemptionIdFor,
  redemptionView,
  returnRedemption,
  showRedemption,
  startRedemption,
  type RedemptionDeps,
} from '../redemptions';
import { defineRoute, type RouteSpec } from '../route';

const key = z.string().regex(/^[A-Za-z0-9._:@-]{1,128}$/, '1 to 128 letters, digits or . _ : @ -');

const redeemBody = z.strictObject({
  redemptionId: key
    .optional()
    .describe(
      'Your id for this redemption: the same id is one redemption. Unset: derived from the Idempotency-Key header, else new.',
    ),
  memberId: z.uuid(),
  rewardId: key,
  quantity: z.number().int().min(1).max(100).default(1),
  backorder: z
    .boolean()
    .default(false)
    .describe('Out of stock with no substitute taken: wait for stock instead of a refund.'),
});

const view = z.object({
  redemptionId: z.string(),
  memberId: z.uuid(),
  rewardId: z.string(),
  quantity: z.number().int(),
  backorder: z.boolean(),
  status: z.enum(redemptionStatuses),
  tier: z.string().nullable(),
  points: z.number().int().nullable(),
  priority: z.number().int().nullable(),
  reason: z.string().nullable(),
  requestedBy: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  workflow: z.object({ id: z.string(), url: z.url() }),
});

const params = z.object({ id: key });

export function redemptionRoutes(deps: RedemptionDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/redemptions',
      operationId: 'redeem',
      summary: 'Redeem points for a reward: starts the redemption:<id> workflow once per id',
      tag: 'Redemptions',
      auth: 'ops',
      idempotent: true,
      body: redeemBody,
      responses: {
        201: { description: 'Accepted: the workflow is running.', schema: view },
        200: { description: 'Already asked for: the same redemption.', schema: view },
        404: { description: 'No such member or reward.' },
        409: { description: 'The id was used for another redemption, or the member is closed.' },
        422: { description: 'Not eligible (tier, caps, not enough points...): says which field.' },
      },
      handler: async ({ body }, req, res) => {
        const caller = callerOf(res);
        const idempotency = idempotencyKeyOf(req);
        const redemptionId = redemptionIdFor(
          body,
          idempotency === undefined ? undefined : { owner: caller.keyId, key: idempotency },
        );
        const { created, row } = await startRedemption(
          deps,
          { ...body, redemptionId },
          `${caller.role}:${caller.name}`,
        );
        if (created) res.location(`/redemptions/${encodeURIComponent(row.id)}`);
        res.status(created ? 201 : 200).json(redemptionView(deps.config, row));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/redemptions',
      operationId: 'listRedemptions',
      summary: 'Redemptions oldest first, by status, tier, member and age, with workflow links',
      tag: 'Redemptions',
      auth: 'readonly',
      query: z.object({
        status: z.enum(redemptionStatuses).optional(),
        tier: z.string().min(1).max(64).optional(),
        memberId: z.uuid().optional(),
        olderThan: z.coerce
          .number()
          .int()
          .min(0)
          .optional()
          .describe('Only those asked for at least this many seconds ago.'),
        after: key.optional().describe('The last redemptionId of the previous page.'),
        limit: z.coerce.number().int().min(1).max(500).default(50),
      }),
      responses: {
        200: {
          description: 'A page of redemptions; `next` is the `after` of the next page.',
          schema: z.object({ redemptions: z.array(view), next: z.string().nullable() }),
        },
        422: { description: 'A filter is not valid, or `after` names no redemption.' },
      },
      handler: async ({ query }, _req, res) => {
        if (query.after && !(await findRedemptionRow(deps.db, query.after))) {
          throw new Problem('validation', `No redemption '${query.after}' to page after.`, {
            errors: [{ field: 'query.after', message: 'unknown redemptionId' }],
          });
        }
        const rows = await listRedemptions(deps.db, {
          status: query.status,
          tier: query.tier,
          memberId: query.memberId,
          before:
            query.olderThan === undefined
              ? undefined
              : new Date(Date.now() - query.olderThan * 1000),
          after: query.after,
          limit: query.limit,
        });
        res.json({
          redemptions: rows.map((row) => redemptionView(deps.config, row)),
          next: rows.length === query.limit ? rows[rows.length - 1]!.id : null,
        });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/redemptions/:id',
      operationId: 'getRedemption',
      summary:
        'One redemption: its live status from the workflow and the timeline of what happened',
      tag: 'Redemptions',
      auth: 'readonly',
      params,
      responses: {
        200: {
          description: 'The redemption.',
          schema: view.extend({
            live: z.record(z.string(), z.unknown()).nullable(),
            timeline: z.array(
              z.object({
                step: z.string(),
                at: z.iso.datetime(),
                detail: z.record(z.string(), z.unknown()),
              }),
            ),
          }),
        },
        404: { description: 'No such redemption.' },
      },
      handler: async ({ params: { id } }, _req, res) => {
        res.json(await showRedemption(deps, id));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/redemptions/:id/cancel',
      operationId: 'cancelRedemption',
      summary: 'Cancel a redemption until the parcel ships: stock and points are given back',
      tag: 'Redemptions',
      auth: 'ops',
      params,
      body: z.strictObject({ reason: z.string().trim().min(3).max(500) }),
      responses: {
        200: { description: 'Cancelled: the redemption as it now is.' },
        404: { description: 'No such redemption.' },
        409: {
          description:
            'Too late: the parcel has left the warehouse (or the card or code was issued), or it has ended.',
        },
      },
      handler: async ({ params: { id }, body }, _req, res) => {
        const caller = callerOf(res);
        await cancelRedemption(deps, id, {
          actor: `${caller.role}:${caller.name}`,
          reason: body.reason,
        });
        res.json(await showRedemption(deps, id));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/redemptions/:id/return',
      operationId: 'returnRedemption',
      summary: 'The reward came back: restock it and refund the points (sooner for some tiers)',
      tag: 'Redemptions',
      auth: 'ops',
      params,
      body: z.strictObject({ reason: z.string().trim().min(3).max(500) }),
      responses: {
        202: { description: "Return recorded; the refund follows after the tier's delay." },
        404: { description: 'No such redemption.' },
        409: { description: 'Not a delivered physical reward, or past the return window.' },
      },
      handler: async ({ params: { id }, body }, _req, res) => {
        const caller = callerOf(res);
        await returnRedemption(deps, id, {
          actor: `${caller.role}:${caller.name}`,
          reason: body.reason,
        });
        res.status(202).json(await showRedemption(deps, id));
      },
    }),
  ];
}
