/**
 * Programme health: `GET /program/health` (the snapshot) and `GET /program/health/series` (one
 * figure over time). Validation and shapes here; the figures come from `program/`.
 */
import { z } from 'zod';
import type { AppConfig } from '../../config';
import { redemptionStatuses } from '../../domain/redemption';
import type { Db } from '../../infra/db';
import { healthSnapshot, type HealthSettings } from '../../program/health';
import { healthSeries, seriesMetricHelp, seriesMetrics } from '../../program/series';
import {
  alignWindow,
  buckets,
  countBuckets,
  lastDays,
  maxBuckets,
  type Bucket,
  type Window,
} from '../../program/window';
import { Problem } from '../problem';
import { defineRoute, type RouteSpec } from '../route';

const count = z.number().int();
const money = z.object({ amount: z.number(), currency: z.string() });
const iso = z.iso.datetime({ offset: true });
const defaultDays = 30;
const maxDays = 3660;

const flows = z.object({
  issued: count,
  redeemed: count,
  expired: count,
  reversed: count,
  adjusted: count,
  adjustments: z.object({ manual: count, serviceRecovery: count, refunds: count }),
  serviceRecoveryCredits: count,
});
const velocity = z.object({ current: count, previous: count, trend: z.number().nullable() });
const reasons = z.array(z.object({ reason: z.string(), count }));

const snapshot = z.object({
  asOf: iso,
  window: z.object({ from: iso, to: iso }).describe('Flows are over [from, to), whole UTC hours.'),
  members: z.object({
    total: count,
    active: count,
    dormant: count,
    closed: count,
    suspended: count,
    byTier: z.array(
      z.object({
        tier: z.string(),
        active: count,
        dormant: count,
        closed: count,
        suspended: count,
        total: count,
      }),
    ),
    enrolled: count.describe('Enrolled in the window.'),
  }),
  points: z.object({
    outstanding: z.object({
      available: count,
      pending: count,
      held: count,
      total: count.describe('available + pending + held'),
      debt: count,
    }),
    liability: z.array(money.extend({ costPerPoint: z.number() })),
    window: flows,
    allTime: flows,
    breakageRate: z.number().nullable().describe('expired / issued over the window'),
    redemptionRate: z.number().nullable().describe('redeemed / issued over the window'),
  }),
  redemptions: z.object({
    byStatus: z.record(z.enum(redemptionStatuses), count),
    velocity: z.object({ perHour: velocity, perDay: velocity }),
    requested: count,
    delivered: count,
    failed: count,
    cancelled: count,
    lost: count,
    failureReasons: reasons,
    cancellationReasons: reasons,
    timeToDelivery: z.object({
      count,
      p50Seconds: z.number().nullable(),
      p90Seconds: z.number().nullable(),
    }),
    sla: z.object({ breaches: count, openPastSla: count }),
    serviceRecovery: z.object({ credits: count, points: count }),
  }),
  fulfilment: z.object({
    shippingCostPerRedemption: z.array(money),
    cost: z.array(
      z.object({
        currency: z.string(),
        redemptions: count,
        rewardValue: money,
        shipping: money,
        total: money,
        perRedemption: money,
      }),
    ),
  }),
  giftCardFloat: z.array(
    z.object({
      provider: z.string(),
      balance: z.object({ amount: z.number(), currency: z.string().nullable() }),
      low: z.boolean(),
      reportedAt: iso,
      burnPerDay: z.number(),
      daysLeft: z.number().nullable(),
    }),
  ),
  stock: z.object({
    atOrUnderThreshold: count,
    rewards: z.array(
      z.object({ sku: z.string(), name: z.string(), available: count, threshold: count }),
    ),
  }),
  webhooks: z.object({ failing: count, disabled: count }),
});

const series = z.object({
  metric: z.enum(seriesMetrics),
  unit: z.string(),
  bucket: z.enum(buckets),
  from: iso,
  to: iso,
  points: z.array(z.object({ start: iso, end: iso, value: z.number().nullable() })),
});

const range = {
  from: iso.optional().describe(`Start of the window; default: ${defaultDays} days before to.`),
  to: iso.optional().describe('End of the window; default: the end of the current hour.'),
};

/** The window asked for, checked: from before to, at most `maxDays` long. */
function windowOf(query: { from?: string | undefined; to?: string | undefined }): Window {
  const fallback = lastDays(new Date(), defaultDays);
  const to = query.to ? new Date(query.to) : fallback.to;
  const from = query.from
    ? new Date(query.from)
    : new Date(to.getTime() - defaultDays * 86_400_000);
  const refuse = (field: string, message: string) =>
    new Problem('validation', `The time range is not valid: ${field} ${message}.`, {
      errors: [{ field: `query.${field}`, message }],
    });
  if (from >= to) throw refuse(query.from ? 'from' : 'to', 'must be before to');
  if (to.getTime() - from.getTime() > maxDays * 86_400_000)
    throw refuse('from', `must be at most ${maxDays} days before to`);
  return { from, to };
}

export function programHealthRoutes(deps: { db: Db; config: AppConfig }): RouteSpec[] {
  const settings: HealthSettings = {
    pointCost: deps.config.POINT_COST,
    shippingCost: deps.config.SHIPPING_COST,
    floatBurnDays: deps.config.FLOAT_BURN_DAYS,
  };
  return [
    defineRoute({
      method: 'get',
      path: '/program/health',
      operationId: 'programHealth',
      summary: 'Programme health now: members, points and liability, redemptions, costs, stock',
      tag: 'Programme health',
      auth: 'readonly',
      query: z.object(range),
      responses: {
        200: {
          description:
            'The snapshot. Stocks (outstanding points, statuses) are as of `asOf`; flows are over `window`, widened to whole UTC hours.',
          schema: snapshot,
        },
        422: { description: 'from or to is not valid: says which.' },
      },
      handler: async ({ query }, _req, res) => {
        const window = alignWindow(windowOf(query), 'hour');
        res.json(await healthSnapshot(deps.db, settings, window));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/program/health/series',
      operationId: 'programHealthSeries',
      summary: 'One programme-health figure per hour, day, week or month',
      tag: 'Programme health',
      auth: 'readonly',
      query: z.object({
        metric: z.enum(seriesMetrics).describe(
          Object.entries(seriesMetricHelp)
            .map(([name, help]) => `${name}: ${help}`)
            .join('; '),
        ),
        bucket: z.enum(buckets).default('day').describe('UTC buckets; weeks start on Monday.'),
        ...range,
      }),
      responses: {
        200: {
          description: `Every bucket of the window widened to whole buckets, 0 where nothing happened (at most ${maxBuckets} buckets).`,
          schema: series,
        },
        422: { description: 'metric, bucket, from or to is not valid, or too many buckets.' },
      },
      handler: async ({ query }, _req, res) => {
        const bucket: Bucket = query.bucket;
        const window = windowOf(query);
        const n = countBuckets(window, bucket);
        if (n > maxBuckets) {
          throw new Problem(
            'validation',
            `The range holds ${n} ${bucket} buckets; at most ${maxBuckets}: choose a larger bucket or a shorter range.`,
            { errors: [{ field: 'query.bucket', message: `${n} buckets, at most ${maxBuckets}` }] },
          );
        }
        res.json(await healthSeries(deps.db, query.metric, bucket, alignWindow(window, bucket)));
      },
    }),
  ];
}
