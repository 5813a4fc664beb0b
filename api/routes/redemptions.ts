import { z } from 'zod';
import type { Notifications } from '../../infra/notifications';
import { redemptionStatuses } from '../../domain/redemption';
import { changeWatermark, countQueue, listQueue } from '../../redemptions/queue';
import { findRedemptionRow } from '../../redemptions/records';
import { settleActions } from '../../redemptions/settle';
import { Problem } from '../problem';
import { callerOf } from '../auth';
import { idempotencyKeyOf } from '../idempotency';
import {
  cancelRedemption,
  redemptionIdFor,
  redemptionView,
  returnRedemption,
  settleRedemption,
  startRedemption,
  type RedemptionDeps,
} from '../redemptions';
import { streamRedemption } from '../redemption-events';
import { streamQueue } from '../queue-events';
import { queueRowView, redemptionDetail, redemptionPolicy } from '../redemption-detail';
import { defineRoute, type RouteSpec } from '../route';
import {
  detail,
  cursor,
  filterOf,
  key,
  params,
  queueFilter,
  redeemBody,
  redeemed,
  row,
} from './redemption-schemas';

/** A comment line on each event stream this often, so proxies and clients see it is alive. */
const heartbeatMs = 15_000;

export function redemptionRoutes(deps: RedemptionDeps & { steps: Notifications }): RouteSpec[] {
  const streams = { ...deps, heartbeatMs };
  return [
    defineRoute({
      method: 'post',
      path: '/redemptions',
      operationId: 'redeem',
      summary:
        'Redeem points for a reward: starts the redemption:<id> workflow once per id and answers once the points are held or the redemption refused',
      tag: 'Redemptions',
      auth: 'ops',
      body: redeemBody,
      responses: {
        201: {
          description:
            'Created: `hold` says whether the points are held or why it was refused (then `status` is `failed`).',
          schema: redeemed,
        },
        200: {
          description: 'Already asked for: the same redemption, the same answer.',
          schema: redeemed,
        },
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
        const { created, row, hold } = await startRedemption(
          deps,
          { ...body, redemptionId },
          `${caller.role}:${caller.name}`,
        );
        if (created) res.location(`/redemptions/${encodeURIComponent(row.id)}`);
        res.status(created ? 201 : 200).json({ ...redemptionView(deps.config, row), hold });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/redemptions',
      operationId: 'listRedemptions',
      summary:
        'The redemption queue: by status (several), tier, reward, member, age and SLA risk; oldest first',
      tag: 'Redemptions',
      auth: 'readonly',
      query: queueFilter.extend({
        order: z.enum(['oldest', 'newest']).default('oldest'),
        after: key.optional().describe('The last redemptionId of the previous page.'),
        limit: z.coerce.number().int().min(1).max(500).default(50),
      }),
      responses: {
        200: {
          description:
            'A page of redemptions; `next` is the `after` of the next page; `cursor` is where `GET /redemptions/events?since=` picks up the changes from.',
          schema: z.object({
            redemptions: z.array(row),
            next: z.string().nullable(),
            cursor: cursor.describe(
              'The change feed as this page was read (taken before it): open `GET /redemptions/events?since=<cursor>` to hear of every change after it.',
            ),
          }),
        },
        422: { description: 'A filter is not valid, or `after` names no redemption.' },
      },
      handler: async ({ query }, _req, res) => {
        if (query.after && !(await findRedemptionRow(deps.db, query.after))) {
          throw new Problem('validation', `No redemption '${query.after}' to page after.`, {
            errors: [{ field: 'query.after', message: 'unknown redemptionId' }],
          });
        }
        // Before the read: a change it misses is after the cursor (one it has may come again).
        const since = await changeWatermark(deps.db);
        const policy = await redemptionPolicy(deps.db, deps.config);
        const rows = await listQueue(
          deps.db,
          {
            ...filterOf(query, policy.now),
            order: query.order,
            after: query.after,
            limit: query.limit,
          },
          policy,
        );
        res.json({
          redemptions: rows.map((r) => queueRowView(deps.config, r, policy)),
          next: rows.length === query.limit ? rows[rows.length - 1]!.id : null,
          cursor: since,
        });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/redemptions/counts',
      operationId: 'countRedemptions',
      summary: 'How many redemptions per status (and at risk) under the same filters as the queue',
      tag: 'Redemptions',
      auth: 'readonly',
      query: queueFilter,
      responses: {
        200: {
          description:
            'Counts per status (every status, 0 included; the `status` filter does not narrow them), at risk, and in all.',
          schema: z.object({
            byStatus: z.record(z.enum(redemptionStatuses), z.number().int()),
            atRisk: z.number().int(),
            total: z.number().int(),
          }),
        },
        422: { description: 'A filter is not valid.' },
      },
      handler: async ({ query }, _req, res) => {
        const policy = await redemptionPolicy(deps.db, deps.config);
        const counts = await countQueue(deps.db, filterOf(query, policy.now), policy);
        res.json({
          ...counts,
          byStatus: Object.fromEntries(
            redemptionStatuses.map((st) => [st, counts.byStatus[st] ?? 0]),
          ),
        });
      },
    }),
    // Before `/redemptions/:id`, which would read `events` as an id.
    defineRoute({
      method: 'get',
      path: '/redemptions/events',
      operationId: 'redemptionQueueEvents',
      summary:
        'Server-sent events for the queue: each redemption that changes (asked for, a step, a status) and the counts, under the same filters (the console cookie works: EventSource)',
      tag: 'Redemptions',
      auth: 'readonly',
      query: queueFilter.extend({
        since: cursor
          .optional()
          .describe(
            'Resume after this cursor (`cursor` of `GET /redemptions`, or an event id); `Last-Event-ID` wins when sent. Unset: from now.',
          ),
      }),
      responses: {
        200: {
          description: [
            'text/event-stream, in the order of the changes:',
            '`ready` {cursor} first;',
            '`change` {redemptionId, status, updatedAt, matches, row} for each redemption that changed, at its latest state: `row` is the queue row (as `GET /redemptions` lists it) while it matches the filters, else `matches` is false and `row` null (take it off the screen);',
            '`counts` (as `GET /redemptions/counts`) at once and when they move, at most every 2 s;',
            '`reset` {cursor} when more than 1000 redemptions changed since the cursor asked for: read the queue again.',
            'The `id:` of the last event of each batch is a cursor: a reconnect with `Last-Event-ID` gets every change after it (one may come twice), none missed.',
            'A `: heartbeat` comment every 15 s.',
          ].join(' '),
          contentType: 'text/event-stream',
          schema: z.string(),
        },
        422: { description: 'A filter or `since` is not valid.' },
      },
      handler: async ({ query }, req, res) => {
        await streamQueue(streams, query, req, res);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/redemptions/:id',
      operationId: 'getRedemption',
      summary:
        'One redemption for ops: status, timeline with actors and reasons, member, reward, fulfilment, allowed actions, SLA (codes masked below ops)',
      tag: 'Redemptions',
      auth: 'readonly',
      params,
      responses: {
        200: {
          description: 'The redemption.',
          schema: detail,
        },
        404: { description: 'No such redemption.' },
      },
      handler: async ({ params: { id } }, _req, res) => {
        res.json(await redemptionDetail(deps, id, callerOf(res).role));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/redemptions/:id/events',
      operationId: 'redemptionEvents',
      summary:
        'Server-sent events: the status at once, then each step as it is written, until it ends (the console cookie works: EventSource)',
      tag: 'Redemptions',
      auth: 'readonly',
      params,
      responses: {
        200: {
          description:
            'text/event-stream. `status` {redemptionId, status, reason, updatedAt, seq} first and on each change; `step` {seq, step, at, detail, status} with `id:` its seq (send `Last-Event-ID` to resume after it); `end` {status} once completed, failed, cancelled, lost or refunded, then the stream closes. A `: heartbeat` comment every 15 s.',
          contentType: 'text/event-stream',
          schema: z.string(),
        },
        404: { description: 'No such redemption.' },
      },
      handler: async ({ params: { id } }, req, res) => {
        await streamRedemption(streams, id, callerOf(res).role, req, res);
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
        res.json(await redemptionDetail(deps, id, caller.role));
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
        res.status(202).json(await redemptionDetail(deps, id, caller.role));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/redemptions/:id/settle',
      operationId: 'settleRedemption',
      summary:
        'Settle the points a closed workflow left held (cancelled in Temporal past the point of no return): spend them (completed) or release them to the member (cancelled)',
      tag: 'Redemptions',
      auth: 'ops',
      params,
      body: z.strictObject({
        action: z
          .enum(settleActions)
          .describe('`spend`: the points are redeemed; `release`: they go back to the member.'),
        reason: z.string().trim().min(3).max(500),
      }),
      responses: {
        200: {
          description:
            'Settled (or settled so before): the redemption as it now is, with a `settled` step.',
        },
        404: { description: 'No such redemption.' },
        409: {
          description:
            'Its workflow is still running, it holds no points, or they were settled the other way.',
        },
      },
      handler: async ({ params: { id }, body }, _req, res) => {
        const caller = callerOf(res);
        await settleRedemption(deps, id, {
          action: body.action,
          reason: body.reason,
          actor: `${caller.role}:${caller.name}`,
        });
        res.json(await redemptionDetail(deps, id, caller.role));
      },
    }),
  ];
}
