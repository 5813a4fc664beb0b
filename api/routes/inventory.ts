/** Stock of physical rewards: read it, correct it (admin), and record deliveries (ops). */
import { z } from 'zod';
import {
  getInventory,
  listInventory,
  replenish,
  setInventory,
  type InventoryRow,
} from '../../catalog/inventory';
import { rewardId } from '../../domain/rewards';
import type { Db } from '../../infra/db';
import { callerOf } from '../auth';
import { notFound } from '../problem';
import { defineRoute, type RouteSpec } from '../route';

const count = z.number().int().min(0).max(1_000_000_000);

export const inventorySchema = z.object({
  sku: z.string(),
  onHand: z.number().int().describe('Units in the warehouse, reserved ones included.'),
  reserved: z.number().int().describe('Units set aside for redemptions not shipped yet.'),
  available: z.number().int().describe('onHand - reserved: what can still be reserved.'),
  threshold: z.number().int().describe('Replenishment is requested when available drops below.'),
  low: z.boolean().describe('available < threshold.'),
  replenishmentRequestedAt: z.iso
    .datetime()
    .nullable()
    .describe('When replenishment was requested; null once stock arrived.'),
  replenishmentRequests: z.number().int().describe('Low-stock episodes so far.'),
  updatedAt: z.iso.datetime(),
});

export const inventoryView = (row: InventoryRow): z.infer<typeof inventorySchema> => ({
  sku: row.sku,
  onHand: row.on_hand,
  reserved: row.reserved,
  available: row.available,
  threshold: row.threshold,
  low: row.available < row.threshold,
  replenishmentRequestedAt: row.replenishment_requested_at?.toISOString() ?? null,
  replenishmentRequests: row.replenishment_requests,
  updatedAt: row.updated_at.toISOString(),
});

const skuParams = z.object({ sku: rewardId });

export function inventoryRoutes(deps: { db: Db }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/inventory',
      operationId: 'listInventory',
      summary: 'Stock of every physical reward, by SKU',
      tag: 'Catalog',
      auth: 'readonly',
      query: z.object({
        low: z.stringbool().optional().describe('true: only SKUs below their threshold.'),
      }),
      responses: {
        200: {
          description: 'The stock, by SKU.',
          schema: z.object({ inventory: z.array(inventorySchema) }),
        },
      },
      handler: async ({ query }, _req, res) => {
        const rows = await listInventory(deps.db, { low: query.low ?? false });
        res.json({ inventory: rows.map(inventoryView) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/inventory/:sku',
      operationId: 'getInventory',
      summary: 'Stock of one physical reward: on hand, reserved, available, replenishment',
      tag: 'Catalog',
      auth: 'readonly',
      params: skuParams,
      responses: { 200: { description: 'The stock.', schema: inventorySchema } },
      handler: async ({ params }, _req, res) => {
        const row = await getInventory(deps.db, params.sku);
        if (!row) throw notFound('inventory', 'sku', params.sku);
        res.json(inventoryView(row));
      },
    }),
    defineRoute({
      method: 'put',
      path: '/inventory/:sku',
      operationId: 'setInventory',
      summary: 'Correct the count on hand or the replenishment threshold (after a stock-take)',
      tag: 'Catalog',
      auth: 'admin',
      params: skuParams,
      body: z
        .strictObject({
          onHand: count.optional().describe('May not be below what is reserved.'),
          threshold: count.optional(),
        })
        .refine((body) => Object.keys(body).length > 0, 'name onHand, threshold or both'),
      responses: {
        200: { description: 'The stock after the correction.', schema: inventorySchema },
      },
      handler: async ({ params, body }, _req, res) => {
        res.json(inventoryView(await setInventory(deps.db, { sku: params.sku, ...body })));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/inventory/:sku/replenishments',
      operationId: 'replenishInventory',
      summary: 'Record a delivery: on hand goes up, once per delivery reference',
      tag: 'Catalog',
      auth: 'ops',
      params: skuParams,
      body: z.strictObject({
        quantity: count.min(1),
        reference: z
          .string()
          .trim()
          .min(1)
          .max(200)
          .describe('The delivery (a delivery note or purchase order): recorded once.'),
      }),
      responses: {
        201: {
          description: 'Recorded; the stock after it.',
          schema: z.object({ replenished: z.literal(true), inventory: inventorySchema }),
        },
        200: {
          description: 'This delivery was already recorded: nothing changed.',
          schema: z.object({ replenished: z.literal(false), inventory: inventorySchema }),
        },
        409: { description: 'This delivery reference was recorded with another quantity.' },
      },
      handler: async ({ params, body }, _req, res) => {
        const caller = callerOf(res);
        const result = await replenish(deps.db, {
          sku: params.sku,
          ...body,
          actor: `${caller.role}:${caller.name}`,
        });
        res
          .status(result.replenished ? 201 : 200)
          .json({ replenished: result.replenished, inventory: inventoryView(result.inventory) });
      },
    }),
  ];
}
