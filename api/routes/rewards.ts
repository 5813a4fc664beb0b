/**
 * The rewards catalog: create (admin, idempotent by id), list and read with their stock, change,
 * and fill coupon pools from a CSV file or a JSON list of codes.
 */
import type { Request } from 'express';
import { z } from 'zod';
import { importCoupons, parseCouponCsv, type Rejected } from '../../catalog/coupons';
import {
  createReward,
  getReward,
  listRewards,
  rewardStock,
  updateReward,
  type RewardRow,
  type RewardStock,
} from '../../catalog/rewards';
import {
  couponCode,
  newRewardSchema,
  rewardId,
  rewardKinds,
  rewardPatchSchema,
  substitutionSchema,
} from '../../domain/rewards';
import type { Db } from '../../infra/db';
import { notFound, Problem } from '../problem';
import { defineRoute, fieldErrors, type RouteSpec } from '../route';
import { inventorySchema, inventoryView } from './inventory';

const rewardSchema = z.object({
  id: z.string(),
  kind: z.enum(rewardKinds),
  name: z.string(),
  category: z.string(),
  pointsCost: z.number().int(),
  cashValue: z.number(),
  currency: z.string(),
  tiersAllowed: z.array(z.string()).describe('Empty: every tier.'),
  substitution: substitutionSchema,
  provider: z.string().nullable(),
  denomination: z.number().nullable(),
  campaign: z.string().nullable().describe('Counts against budgets.campaigns.<campaign>.'),
  active: z.boolean(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  inventory: inventorySchema.nullable().describe('Physical rewards: the stock.'),
  coupons: z
    .object({
      total: z.number().int().describe('Codes imported.'),
      available: z.number().int().describe('Codes not yet given out.'),
      used: z.number().int().describe('Codes given to redemptions (total - available).'),
    })
    .nullable()
    .describe('Coupons: the pool of codes.'),
});

const rewardView = (row: RewardRow, stock: RewardStock | undefined) => ({
  id: row.id,
  kind: row.kind,
  name: row.name,
  category: row.category,
  pointsCost: row.points_cost,
  cashValue: row.cash_value,
  currency: row.currency,
  tiersAllowed: row.tiers_allowed,
  substitution: row.substitution,
  provider: row.provider,
  denomination: row.denomination,
  campaign: row.campaign,
  active: row.active,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  inventory: stock?.inventory ? inventoryView(stock.inventory) : null,
  coupons: stock?.coupons ?? null,
});

async function withStock(db: Db, row: RewardRow) {
  return rewardView(row, (await rewardStock(db, [row])).get(row.id));
}

const rewardParams = z.object({ id: rewardId });
const codesBody = z.strictObject({ codes: z.array(couponCode).min(1).max(100_000) });
const importResult = z.object({
  imported: z.number().int().describe('Codes added to the pool.'),
  duplicates: z.number().int().describe('Codes already in the pool (or repeated in the file).'),
  rejected: z
    .array(z.object({ line: z.number().int(), message: z.string() }))
    .describe('CSV lines that are not a valid code, by line number; not imported.'),
});

const couponTypes = ['text/csv', 'application/json'];

/** The codes of a coupon import, from the raw body: `text/csv` (header `code`) or JSON `{ codes }`. */
function readCodes(req: Request): { codes: string[]; rejected: Rejected[] } {
  const text = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  if (req.is('text/csv')) return parseCouponCsv(text);
  if (req.is('application/json')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Problem('bad-request', 'The body is not valid JSON.', {
        errors: [{ field: '(body)', message: 'malformed JSON' }],
      });
    }
    const parsed = codesBody.safeParse(json);
    if (!parsed.success) {
      throw new Problem('validation', 'The request body is not valid.', {
        errors: fieldErrors(parsed.error),
      });
    }
    return { codes: parsed.data.codes, rejected: [] };
  }
  throw new Problem('unsupported-media-type', 'Send the codes as text/csv or application/json.');
}

export function rewardRoutes(deps: { db: Db }): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/rewards',
      operationId: 'createReward',
      summary: 'Add a reward to the catalog (idempotent by id); physical ones with their stock',
      tag: 'Catalog',
      auth: 'admin',
      body: newRewardSchema,
      responses: {
        201: { description: 'Created.', schema: rewardSchema },
        200: { description: 'Already in the catalog with these details.', schema: rewardSchema },
        409: { description: 'The id is taken by a reward with other details.' },
      },
      handler: async ({ body }, _req, res) => {
        const { created, reward } = await createReward(deps.db, body);
        res
          .status(created ? 201 : 200)
          .location(`/rewards/${encodeURIComponent(reward.id)}`)
          .json(await withStock(deps.db, reward));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/rewards',
      operationId: 'listRewards',
      summary: 'The catalog, by id, with stock; filter by kind, category or active',
      tag: 'Catalog',
      auth: 'readonly',
      query: z.object({
        kind: z.enum(rewardKinds).optional(),
        category: z.string().max(64).optional(),
        active: z.stringbool().optional().describe('true or false.'),
        after: rewardId.optional().describe('Rewards after this id (from `nextAfter`).'),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      responses: {
        200: {
          description: 'One page of rewards.',
          schema: z.object({ rewards: z.array(rewardSchema), nextAfter: z.string().nullable() }),
        },
      },
      handler: async ({ query }, _req, res) => {
        const rows = await listRewards(deps.db, query);
        const stock = await rewardStock(deps.db, rows);
        res.json({
          rewards: rows.map((row) => rewardView(row, stock.get(row.id))),
          nextAfter: rows.length === query.limit ? rows.at(-1)!.id : null,
        });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/rewards/:id',
      operationId: 'getReward',
      summary: 'A reward with its stock (inventory, or the coupon pool)',
      tag: 'Catalog',
      auth: 'readonly',
      params: rewardParams,
      responses: { 200: { description: 'The reward.', schema: rewardSchema } },
      handler: async ({ params }, _req, res) => {
        const row = await getReward(deps.db, params.id);
        if (!row) throw notFound('reward', 'id', params.id);
        res.json(await withStock(deps.db, row));
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/rewards/:id',
      operationId: 'updateReward',
      summary: "Change a reward's name, price, cash value, tiers, substitution policy or status",
      tag: 'Catalog',
      auth: 'admin',
      params: rewardParams,
      body: rewardPatchSchema,
      responses: { 200: { description: 'The reward after the change.', schema: rewardSchema } },
      handler: async ({ params, body }, _req, res) => {
        res.json(await withStock(deps.db, await updateReward(deps.db, params.id, body)));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/rewards/:id/coupons',
      operationId: 'importCoupons',
      summary:
        'Add codes to a coupon pool: text/csv (header `code`, one per line) or JSON `{ codes }`; ' +
        'codes already in the pool count as duplicates',
      tag: 'Catalog',
      auth: 'admin',
      params: rewardParams,
      rawBody: { type: couponTypes },
      responses: {
        200: { description: 'Imported; bad CSV lines listed.', schema: importResult },
        400: { description: 'The JSON body is malformed.' },
        415: { description: 'Neither text/csv nor application/json.' },
        422: { description: 'No `code` header, or (JSON) an invalid code; nothing imported.' },
      },
      handler: async ({ params }, req, res) => {
        const { codes, rejected } = readCodes(req);
        const result = await importCoupons(deps.db, params.id, codes);
        res.json({ ...result, rejected });
      },
    }),
  ];
}
