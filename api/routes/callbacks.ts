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
 * the partner's secret (no API key): a bad or stale one is a 401 before anything is read. A
 * repeated callback is harmless: the workflow takes each shipment step once.
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
      handler: async ({ body }, _req, res) => {
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
        res.status(204).end();
      },
    }),
  ];
}
