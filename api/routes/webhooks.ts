import { z } from 'zod';
import { isValidFilter, webhookEventTypes } from '../../domain/webhooks';
import {
  attemptsOf,
  createRangeReplay,
  createReplay,
  listDeliveries,
  type AttemptRow,
  type DeliveryRow,
} from '../../webhooks/deliveries';
import {
  createSubscription,
  findSubscription,
  listSubscriptions,
  rotateSecret,
  updateSubscription,
  type Owner,
  type SubscriptionRow,
} from '../../webhooks/subscriptions';
import { wakeSubscription } from '../../webhooks/start';
import { refuseInternalTarget } from '../../webhooks/targets';
import { callerOf } from '../auth';
import { notFound, Problem } from '../problem';
import type { RedemptionDeps } from '../redemptions';
import { bigintId, defineRoute, type RouteSpec } from '../route';
import type { Response } from 'express';

const endpoint = z
  .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
  .max(2000)
  .describe('Where events are POSTed.');
const eventTypes = z
  .array(
    z.string().refine(isValidFilter, {
      message: `an event type (${webhookEventTypes.slice(0, 3).join(', ')}...), a family such as redemption.*, or *`,
    }),
  )
  .min(1)
  .max(100)
  .describe('Event types, families (`redemption.*`) or `*`.');
const orderedByMember = z
  .boolean()
  .describe(
    "Deliver each member's events one after the other, in the order they happened: a member's next event waits while one before it is being retried (default false: in any order, faster).",
  );

const subscription = z.object({
  id: z.uuid(),
  url: z.string(),
  eventTypes: z.array(z.string()),
  description: z.string().nullable(),
  status: z.enum(['enabled', 'disabled']),
  orderedByMember: z.boolean(),
  disabledReason: z.string().nullable(),
  createdAt: z.iso.datetime(),
});

const view = (row: SubscriptionRow) => ({
  id: row.id,
  url: row.url,
  eventTypes: row.event_types,
  description: row.description,
  status: row.status,
  orderedByMember: row.ordered_by_member,
  disabledReason: row.disabled_reason,
  createdAt: row.created_at.toISOString(),
});

const deliveryView = (d: DeliveryRow & { event_type?: string }, attempts: AttemptRow[]) => ({
  id: d.id,
  eventId: d.event_id,
  eventType: d.event_type ?? null,
  webhookId: `msg_${d.event_id}`,
  status: d.status,
  replayOf: d.replay_of,
  requestedBy: d.requested_by,
  attempts: attempts.map((a) => ({
    attempt: a.attempt,
    at: a.at.toISOString(),
    statusCode: a.status_code,
    latencyMs: a.latency_ms,
    error: a.error,
  })),
  nextAttemptAt: d.next_attempt_at?.toISOString() ?? null,
  createdAt: d.created_at.toISOString(),
});

const params = z.object({ id: z.uuid() });
const ownerOf = (res: Response): Owner => {
  const caller = callerOf(res);
  return { keyId: caller.keyId, role: caller.role };
};

/**
 * Partner webhook subscriptions (partner keys see their own; admin keys all): where, which
 * events, the signing secret (shown once, rotated with a grace window), the delivery log of every
 * attempt, and replays of any event the subscription was sent (admins: any event at all).
 */
export function webhookRoutes(deps: RedemptionDeps): RouteSpec[] {
  const mine = async (res: Response, id: string): Promise<SubscriptionRow> => {
    const row = await findSubscription(deps.db, ownerOf(res), id);
    if (!row) throw notFound('webhook subscription', 'id', id);
    return row;
  };
  return [
    defineRoute({
      method: 'post',
      path: '/webhooks/subscriptions',
      operationId: 'createWebhookSubscription',
      summary: 'Subscribe an endpoint to events; the answer holds its signing secret, shown once',
      tag: 'Webhooks',
      auth: 'partner',
      body: z.strictObject({
        url: endpoint,
        eventTypes,
        description: z.string().max(500).optional(),
        orderedByMember: orderedByMember.optional(),
      }),
      responses: {
        201: {
          description: 'Subscribed. Keep `secret` (whsec_...): it is not shown again.',
          schema: z.object({ subscription, secret: z.string() }),
        },
      },
      handler: async ({ body }, _req, res) => {
        await refuseInternalTarget(body.url, deps.config.WEBHOOK_ALLOW_PRIVATE_TARGETS);
        const { subscription: row, secret } = await createSubscription(deps.db, ownerOf(res), body);
        res.location(`/webhooks/subscriptions/${row.id}`);
        res.status(201).json({ subscription: view(row), secret });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/webhooks/subscriptions',
      operationId: 'listWebhookSubscriptions',
      summary: 'Your webhook subscriptions (admins: all)',
      tag: 'Webhooks',
      auth: 'partner',
      responses: {
        200: {
          description: 'Subscriptions.',
          schema: z.object({ subscriptions: z.array(subscription) }),
        },
      },
      handler: async (_input, _req, res) => {
        res.json({ subscriptions: (await listSubscriptions(deps.db, ownerOf(res))).map(view) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/webhooks/subscriptions/:id',
      operationId: 'getWebhookSubscription',
      summary: 'One webhook subscription',
      tag: 'Webhooks',
      auth: 'partner',
      params,
      responses: {
        200: { description: 'The subscription.', schema: subscription },
        404: { description: 'Not yours, or none.' },
      },
      handler: async ({ params: { id } }, _req, res) => {
        res.json(view(await mine(res, id)));
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/webhooks/subscriptions/:id',
      operationId: 'updateWebhookSubscription',
      summary: 'Change the URL or event types, or disable and enable a subscription',
      tag: 'Webhooks',
      auth: 'partner',
      params,
      body: z
        .strictObject({
          url: endpoint.optional(),
          eventTypes: eventTypes.optional(),
          enabled: z.boolean().optional(),
          orderedByMember: orderedByMember.optional(),
        })
        .refine(
          (b) => Object.keys(b).length > 0,
          'give at least one of url, eventTypes, enabled, orderedByMember',
        ),
      responses: {
        200: { description: 'The subscription now.', schema: subscription },
        404: { description: 'Not yours, or none.' },
      },
      handler: async ({ params: { id }, body }, _req, res) => {
        await mine(res, id);
        if (body.url !== undefined)
          await refuseInternalTarget(body.url, deps.config.WEBHOOK_ALLOW_PRIVATE_TARGETS);
        res.json(view(await updateSubscription(deps.db, id, body)));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/webhooks/subscriptions/:id/rotate-secret',
      operationId: 'rotateWebhookSecret',
      summary: 'A new signing secret; the old one keeps signing for the grace window',
      tag: 'Webhooks',
      auth: 'partner',
      params,
      body: z.strictObject({
        graceSeconds: z
          .number()
          .int()
          .min(0)
          .max(7 * 86_400)
          .default(86_400)
          .describe('How long the old secret keeps signing too (default a day).'),
      }),
      responses: {
        200: {
          description:
            'The new secret, shown once; deliveries carry both signatures until the old one ends.',
          schema: z.object({ secret: z.string(), previousValidUntil: z.iso.datetime() }),
        },
        404: { description: 'Not yours, or none.' },
      },
      handler: async ({ params: { id }, body }, _req, res) => {
        await mine(res, id);
        const { secret, oldValidUntil } = await rotateSecret(deps.db, id, body.graceSeconds * 1000);
        res.json({ secret, previousValidUntil: oldValidUntil.toISOString() });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/webhooks/subscriptions/:id/deliveries',
      operationId: 'listWebhookDeliveries',
      summary: 'The delivery log: every attempt with status code, latency and error, newest first',
      tag: 'Webhooks',
      auth: 'partner',
      params,
      query: z.object({
        before: bigintId().optional().describe('Deliveries older than this id.'),
        limit: z.coerce.number().int().min(1).max(200).default(50),
      }),
      responses: {
        200: {
          description: 'Deliveries.',
          schema: z.object({ deliveries: z.array(z.record(z.string(), z.unknown())) }),
        },
        404: { description: 'Not yours, or none.' },
      },
      handler: async ({ params: { id }, query }, _req, res) => {
        await mine(res, id);
        const rows = await listDeliveries(deps.db, id, query);
        const attempts = await attemptsOf(
          deps.db,
          rows.map((d) => d.id),
        );
        res.json({
          deliveries: rows.map((d) =>
            deliveryView(
              d,
              attempts.filter((a) => a.delivery_id === d.id),
            ),
          ),
        });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/webhooks/subscriptions/:id/replay',
      operationId: 'replayWebhook',
      summary:
        'Send an event to this subscription again (same webhook-id), whatever happened before',
      tag: 'Webhooks',
      auth: 'partner',
      params,
      body: z.strictObject({ eventId: z.number().int().min(1) }),
      responses: {
        202: { description: "The replay delivery, queued; the subscription's workflow sends it." },
        404: { description: 'No such subscription, or an event this subscription was never sent.' },
      },
      handler: async ({ params: { id }, body }, _req, res) => {
        const row = await mine(res, id);
        const caller = callerOf(res);
        const event = await deps
          .db<{ id: number }>('program_events')
          .where({ id: body.eventId })
          .first('id');
        const sent = await deps
          .db<{ id: number; subscription_id: string; event_id: number }>('webhook_deliveries')
          .where({ subscription_id: id, event_id: body.eventId })
          .first('id');
        // Partners may replay what they were sent; admins any event.
        if (!event || (caller.role !== 'admin' && !sent)) {
          throw new Problem(
            'not-found',
            `Event ${body.eventId} was never sent to this subscription.`,
            {
              errors: [{ field: 'eventId', message: 'not sent to this subscription' }],
            },
          );
        }
        const delivery = await createReplay(deps.db, {
          subscriptionId: row.id,
          eventId: body.eventId,
          requestedBy: `${caller.role}:${caller.name}`,
        });
        await wakeSubscription(deps.temporal, deps.config, row.id);
        res.status(202).json(deliveryView(delivery, []));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/webhooks/subscriptions/:id/redeliver',
      operationId: 'redeliverWebhooks',
      summary:
        'Send what this subscription missed in a time range (e.g. while it was disabled), once each',
      tag: 'Webhooks',
      auth: 'partner',
      params,
      body: z
        .strictObject({
          since: z.iso.datetime({ offset: true }).describe('From this time (inclusive).'),
          until: z.iso
            .datetime({ offset: true })
            .optional()
            .describe('Up to this time (exclusive); default now.'),
        })
        .describe(
          'Every event in the range that the subscription matches, from after it was made, and has not been delivered or is not on its way, is sent again (a replay delivery, same webhook-id), at most 1000 a call: call again while `more` is true.',
        ),
      responses: {
        202: {
          description:
            "How many replay deliveries were queued; the subscription's workflow sends them.",
          schema: z.object({ requested: z.int(), more: z.boolean() }),
        },
        404: { description: 'Not yours, or none.' },
        409: { description: 'The subscription is disabled: enable it first.' },
      },
      handler: async ({ params: { id }, body }, _req, res) => {
        const row = await mine(res, id);
        if (row.status !== 'enabled') {
          throw new Problem('conflict', 'The subscription is disabled: enable it first.');
        }
        const caller = callerOf(res);
        const limit = 1000;
        const requested = await createRangeReplay(deps.db, {
          subscription: row,
          since: new Date(body.since),
          until: body.until ? new Date(body.until) : new Date(),
          requestedBy: `${caller.role}:${caller.name}`,
          limit,
        });
        if (requested > 0) await wakeSubscription(deps.temporal, deps.config, row.id);
        res.status(202).json({ requested, more: requested === limit });
      },
    }),
  ];
}
