import { z } from 'zod';
import { createAccrualQueue } from '../../ledger/accrual-queue';
import { callerOf } from '../auth';
import { notifyLifecycle, type LifecycleDeps } from '../lifecycle';
import { defineRoute, type RouteSpec } from '../route';
import type { Db } from '../../infra/db';
import { eventContextSchema } from '../../guardrails/geo';
import { externalId } from './members';

const key = z
  .string()
  .regex(/^[A-Za-z0-9._:@/-]{1,128}$/, '1 to 128 letters, digits or . _ : @ / -');
const name = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, '1 to 64 letters, digits or . _ -');
const money = z.number().min(0).max(1_000_000_000).multipleOf(0.01, 'at most 2 decimals');

const common = {
  eventId: key.describe('Unique per event: the same event id is recorded once.'),
  memberId: z.uuid().optional().describe('The member, by id (or give externalId).'),
  externalId: externalId.optional().describe("The member, by the client's id."),
  occurredAt: z.iso.datetime({ offset: true }).optional(),
  // Where it happened, for the earning detectors (guardrails/geo.ts validates; README "Anomaly
  // detection"): all optional, `lat` and `lon` together.
  country: eventContextSchema.shape.country.describe('ISO 3166-1 alpha-2, e.g. DE.'),
  lat: eventContextSchema.shape.lat.describe('Degrees, -90..90 (with lon).'),
  lon: eventContextSchema.shape.lon.describe('Degrees, -180..180 (with lat).'),
  deviceId: eventContextSchema.shape.deviceId.describe('The device or fingerprint id, if known.'),
};

const purchaseLine = z.strictObject({
  sku: key,
  category: name,
  quantity: z.number().int().min(1).max(100_000),
  amount: money.describe('Line total in the purchase currency.'),
});

const purchase = z
  .strictObject({
    type: z.literal('purchase'),
    ...common,
    orderId: key,
    amount: money,
    currency: z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code, e.g. EUR'),
    channel: name,
    store: z.string().min(1).max(64).optional(),
    country: z.string().regex(/^[A-Z]{2}$/, 'ISO 3166 alpha-2 code, e.g. DE'),
    lines: z.array(purchaseLine).min(1).max(500),
  })
  .superRefine((event, ctx) => {
    const sum = event.lines.reduce((total, line) => total + Math.round(line.amount * 100), 0);
    if (sum !== Math.round(event.amount * 100)) {
      ctx.addIssue({
        code: 'custom',
        path: ['amount'],
        message: `lines add up to ${sum / 100}, not ${event.amount}`,
      });
    }
    uniqueSkus(event.lines, ctx);
  });

const ret = z
  .strictObject({
    type: z.literal('return'),
    ...common,
    orderId: key.describe('The purchase being returned.'),
    lines: z
      .array(z.strictObject({ sku: key, quantity: z.number().int().min(1).max(100_000) }))
      .min(1)
      .max(500),
  })
  .superRefine((event, ctx) => uniqueSkus(event.lines, ctx));

const reference = z
  .string()
  .min(1)
  .max(200)
  .optional()
  .describe('What the event is about (a referred member, a product).');
const referral = z.strictObject({ type: z.literal('referral'), ...common, reference });
const review = z.strictObject({ type: z.literal('review'), ...common, reference });
const custom = z.strictObject({
  type: z.literal('custom'),
  ...common,
  name: name.describe('The event type as the rules name it.'),
  reference,
});

function uniqueSkus(lines: { sku: string }[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    if (seen.has(line.sku))
      ctx.addIssue({ code: 'custom', path: ['lines', i, 'sku'], message: 'appears twice' });
    seen.add(line.sku);
  });
}

/** An event as `POST /events` takes it (and each of `POST /events/batch`). */
export const eventBody = z
  .discriminatedUnion('type', [purchase, ret, referral, review, custom])
  .superRefine((event, ctx) => {
    if (!event.memberId === !event.externalId) {
      ctx.addIssue({
        code: 'custom',
        path: ['memberId'],
        message: 'give exactly one of memberId and externalId',
      });
    }
    if ((event.lat === undefined) !== (event.lon === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [event.lat === undefined ? 'lat' : 'lon'],
        message: 'lat and lon come together',
      });
    }
  });

/** What `POST /events` answers for a recorded event. */
export const eventAnswer = z.object({
  eventId: z.string(),
  memberId: z.uuid(),
  type: z.string(),
  ruleVersion: z.number().int(),
  points: z
    .record(z.string(), z.unknown())
    .describe('What the event earned (or reversed), and why.'),
  balance: z.object({
    available: z.number(),
    pending: z.number(),
    held: z.number(),
    debt: z.number(),
  }),
  tier: z.string(),
  status: z.string(),
});

export function eventRoutes(deps: LifecycleDeps & { db: Db }): RouteSpec[] {
  const accruals = createAccrualQueue(deps.db, {
    maxBatch: deps.config.ACCRUAL_BATCH_MAX,
    inFlight: deps.config.ACCRUAL_BATCHES_IN_FLIGHT,
  });
  return [
    defineRoute({
      method: 'post',
      path: '/events',
      operationId: 'recordEvent',
      summary: 'Record member activity and earn (or reverse) points, exactly once per eventId',
      tag: 'Events',
      auth: 'partner',
      body: eventBody,
      responses: {
        201: {
          description: 'Recorded: the points earned and the new balance.',
          schema: eventAnswer,
        },
        200: { description: 'Already recorded: the first answer, unchanged.', schema: eventAnswer },
        404: { description: 'No such member.' },
        409: {
          description:
            'The eventId or orderId was used for another event, or the member is closed.',
        },
      },
      handler: async ({ body }, _req, res) => {
        const caller = callerOf(res);
        const result = await accruals.submit(body, `${caller.role}:${caller.name}`);
        if (result.member) await notifyLifecycle(deps, result.member, result.changes);
        if (result.replayed) res.set('Idempotent-Replayed', 'true');
        res.status(result.replayed ? 200 : 201).json(result.body);
      },
    }),
  ];
}
