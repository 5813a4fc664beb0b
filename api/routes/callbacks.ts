import { WorkflowNotFoundError } from '@temporalio/client';
import type { Request } from 'express';
import { z } from 'zod';
import type { AppConfig } from '../../config';
import type { Db, Trx } from '../../infra/db';
import { verifySignature } from '../../infra/webhook-signature';
import { recordCardStatus } from '../../redemptions/giftcards';
import { recordDeliveredAfterLost } from '../../redemptions/late-delivery';
import { shipmentEventSignal, workflowIds } from '../../workflows/shared';
import { Problem } from '../problem';
import type { RedemptionDeps } from '../redemptions';
import { defineRoute, rawBodyOf, type RouteSpec } from '../route';

const shipmentEvent = z.object({
  type: z.enum(['shipment.shipped', 'shipment.delivered']),
  shipmentId: z.string().min(1).max(200),
  trackingNumber: z.string().max(200).optional(),
  shippedAt: z.iso.datetime({ offset: true }).optional(),
  deliveredAt: z.iso.datetime({ offset: true }).optional(),
});

const cardStatusEvent = z
  .object({
    type: z.literal('giftcard.status_changed'),
    cardId: z.string().min(1).max(200),
    status: z.enum(['issued', 'activated', 'redeemed', 'voided']),
    reference: z.string().max(200).optional(),
    occurredAt: z.iso.datetime({ offset: true }),
  })
  .describe(
    "A card's new status, recorded with when it happened; one older than the status recorded is ignored, so callbacks may arrive in any order.",
  );

type SecretKey = 'WAREHOUSE_WEBHOOK_SECRET' | 'GIFTCARD_WEBHOOK_SECRET';

/** Refuses a request not signed by the partner holding `key`: 503 unconfigured, 401 bad. */
const signedWith = (config: AppConfig, key: SecretKey, partner: string) => (req: Request) => {
  const secret = config[key];
  if (!secret)
    throw new Problem('unavailable', `${partner} callbacks are not configured (${key}).`);
  const result = verifySignature([secret], req.headers, rawBodyOf(req));
  if (!result.ok) {
    throw new Problem('unauthorized', `The callback's signature is not valid: ${result.reason}.`);
  }
};

/**
 * Acts on a callback once per `webhook-id`: the id is remembered and the callback acted on in one
 * transaction. A concurrent duplicate waits on the first one's row, then finds it taken and does
 * nothing; if acting fails (an error, a 404), the id is forgotten with it, so a retry is taken.
 */
async function once(
  db: Db,
  source: string,
  webhookId: string,
  act: (trx: Trx) => Promise<void>,
): Promise<void> {
  await db.transaction(async (trx) => {
    const taken = await trx('inbound_webhooks')
      .insert({ source, webhook_id: webhookId })
      .onConflict(['source', 'webhook_id'])
      .ignore()
      .returning('webhook_id');
    if (taken.length > 0) await act(trx);
  });
}

const responses = (unknown: string) => ({
  204: { description: 'Taken, or a replay (a `webhook-id` seen before) that changed nothing.' },
  401: { description: 'Missing, wrong or stale (over five minutes, either way) signature.' },
  404: { description: unknown },
  503: { description: "This partner's signing secret is not configured." },
});

/**
 * Partners calling us back. The proof is the Standard Webhooks signature over the raw body with
 * the partner's secret (no API key): a bad or stale one (over five minutes) is a 401 before
 * anything is read. A replayed callback (a `webhook-id` already taken, even concurrently) is a
 * 204 that changes nothing.
 */
export function callbackRoutes(deps: RedemptionDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/callbacks/warehouse',
      operationId: 'warehouseCallback',
      summary: 'The warehouse tells us a shipment shipped or was delivered (signed webhook)',
      tag: 'Callbacks',
      auth: 'public',
      body: shipmentEvent,
      verify: signedWith(deps.config, 'WAREHOUSE_WEBHOOK_SECRET', 'Warehouse'),
      responses: responses('No redemption with that shipment id.'),
      handler: async ({ body }, req, res) => {
        await once(deps.db, 'warehouse', req.get('webhook-id')!, async (trx) => {
          try {
            await deps.temporal.workflow
              .getHandle(workflowIds.redemption(body.shipmentId))
              .signal(shipmentEventSignal, {
                type: body.type,
                trackingNumber: body.trackingNumber,
                at: body.deliveredAt ?? body.shippedAt ?? new Date().toISOString(),
              });
          } catch (err) {
            if (!(err instanceof WorkflowNotFoundError)) throw err;
            const found = await trx<{ id: string }>('redemptions')
              .where({ id: body.shipmentId })
              .first('id');
            if (found) {
              // Ended `lost` and delivered after all: recorded for ops (once). Any other ending
              // already took this step: nothing to do.
              if (body.type === 'shipment.delivered') {
                await recordDeliveredAfterLost(trx, {
                  redemptionId: found.id,
                  deliveredAt: body.deliveredAt ? new Date(body.deliveredAt) : new Date(),
                  trackingNumber: body.trackingNumber,
                });
              }
              return;
            }
            throw new Problem('not-found', `No redemption with shipment id '${body.shipmentId}'.`, {
              errors: [{ field: 'shipmentId', message: 'unknown shipment' }],
            });
          }
        });
        res.status(204).end();
      },
    }),
    defineRoute({
      method: 'post',
      path: '/callbacks/giftcards',
      operationId: 'giftCardCallback',
      summary: "The gift-card provider tells us a card's status changed (signed webhook)",
      tag: 'Callbacks',
      auth: 'public',
      body: cardStatusEvent,
      verify: signedWith(deps.config, 'GIFTCARD_WEBHOOK_SECRET', 'Gift-card'),
      responses: responses('No gift card with that card id (yet: the provider retries).'),
      handler: async ({ body }, req, res) => {
        await once(deps.db, 'giftcards', req.get('webhook-id')!, async (trx) => {
          const known = await recordCardStatus(trx, {
            cardId: body.cardId,
            status: body.status,
            at: new Date(body.occurredAt),
          });
          if (!known) {
            throw new Problem('not-found', `No gift card with card id '${body.cardId}'.`, {
              errors: [{ field: 'cardId', message: 'unknown card' }],
            });
          }
        });
        res.status(204).end();
      },
    }),
  ];
}
