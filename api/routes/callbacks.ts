import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { verifySignature } from '../../infra/webhook-signature';
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

/**
 * Partners calling us back. The proof is the Standard Webhooks signature over the raw body with
 * the partner's secret (no API key): a bad or stale one (over five minutes) is a 401 before
 * anything is read. A replayed callback (a `webhook-id` already taken) is a 204 that changes
 * nothing; the workflow would take each shipment step once anyway.
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
      verify: (req) => {
        const secret = deps.config.WAREHOUSE_WEBHOOK_SECRET;
        if (!secret) {
          throw new Problem(
            'unavailable',
            'Warehouse callbacks are not configured (WAREHOUSE_WEBHOOK_SECRET).',
          );
        }
        const result = verifySignature([secret], req.headers, rawBodyOf(req));
        if (!result.ok) {
          throw new Problem(
            'unauthorized',
            `The callback's signature is not valid: ${result.reason}.`,
          );
        }
      },
      responses: {
        204: { description: 'Taken.' },
        401: { description: 'Missing, wrong or stale signature.' },
        404: { description: 'No redemption with that shipment id.' },
      },
      handler: async ({ body }, req, res) => {
        // Verified above, so the id is the partner's: one seen before is a replay, taken already.
        const webhookId = req.get('webhook-id')!;
        const seen = await deps
          .db<{ source: string; webhook_id: string }>('inbound_webhooks')
          .where({ source: 'warehouse', webhook_id: webhookId })
          .first('webhook_id');
        if (seen) return void res.status(204).end();
        try {
          await deps.temporal.workflow
            .getHandle(workflowIds.redemption(body.shipmentId))
            .signal(shipmentEventSignal, {
              type: body.type,
              trackingNumber: body.trackingNumber,
              at: body.deliveredAt ?? body.shippedAt ?? new Date().toISOString(),
            });
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) {
            const found = await deps
              .db<{ id: string }>('redemptions')
              .where({ id: body.shipmentId })
              .first('id');
            // A redemption that has ended already took this step: nothing to do.
            if (found) return void res.status(204).end();
            throw new Problem('not-found', `No redemption with shipment id '${body.shipmentId}'.`, {
              errors: [{ field: 'shipmentId', message: 'unknown shipment' }],
            });
          }
          throw err;
        }
        // Remembered only once acted on, so a callback that failed here is taken when retried.
        await deps
          .db('inbound_webhooks')
          .insert({ source: 'warehouse', webhook_id: webhookId })
          .onConflict(['source', 'webhook_id'])
          .ignore();
        res.status(204).end();
      },
    }),
  ];
}
