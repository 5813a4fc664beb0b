/**
 * Detection thresholds as programme policy (`detection` of a programme version), so changing them
 * goes through change control like budgets (domain/budgets.ts). Every detector is optional:
 * absent means off. Windows are policy durations (`1 hour`), so tests can compress time.
 */
import { z } from 'zod';
import { msToNumber } from '@temporalio/common/lib/time';

const duration = z.string().refine((value) => {
  try {
    return msToNumber(value) > 0;
  } catch {
    return false;
  }
}, 'expected a positive duration such as "1 hour"');

const count = z.number().int().min(1).max(1_000_000_000);

const velocity = z.strictObject({
  window: duration.describe('How far back the count looks (e.g. "1 hour", "1 day").'),
  maxPoints: count.optional().describe('Most points earned in the window before it fires.'),
  maxEvents: count.optional().describe('Most events (or redemptions) in the window.'),
});

export const detectionSchema = z
  .strictObject({
    earningVelocity: z
      .array(velocity)
      .max(4)
      .optional()
      .describe('Per member: points or events earned per window (one entry per window).'),
    redemptionVelocity: z
      .array(velocity)
      .max(4)
      .optional()
      .describe('Per member: redemptions (maxEvents) or points spent (maxPoints) per window.'),
    newAccountRedemption: z
      .strictObject({
        accountYoungerThan: duration,
        accrualWithin: duration.describe('How long before the redemption the accrual was.'),
        minAccrualPoints: count.describe('What counts as a large accrual.'),
      })
      .optional()
      .describe('A new account redeeming soon after a large accrual.'),
    burstThenRedeem: z
      .strictObject({
        window: duration.describe('How long before the redemption the burst was.'),
        minAccruals: count.describe('Accrual events in the window that make a burst.'),
      })
      .optional()
      .describe('A redemption right after a burst of accruals.'),
    redemptionSpike: z
      .strictObject({
        weeks: z.number().int().min(1).max(12).default(4).describe('Same hour, this many weeks.'),
        factor: z.number().min(1).max(1000).describe('Fires above factor × baseline.'),
        minCount: count.describe('Never fires below this many in the hour (quiet hours).'),
      })
      .optional()
      .describe(
        'Programme-wide redemptions in the current hour against the same hour in past weeks.',
      ),
    unusualCountry: z
      .strictObject({
        minHistory: count.describe('Events with a country needed before any is unusual.'),
        maxShare: z
          .number()
          .min(0)
          .max(1)
          .default(0)
          .describe('A country seen in at most this share of past events is unusual.'),
      })
      .optional()
      .describe("An event's or shipment's country unlike the member's usual ones."),
    impossibleTravel: z
      .strictObject({
        maxKmPerHour: z.number().positive().max(100_000).default(900),
        minKm: z.number().min(0).default(100).describe('Closer than this is never impossible.'),
      })
      .optional()
      .describe('Two located events further apart than travel at maxKmPerHour allows.'),
    linkedAccounts: z
      .strictObject({
        maxMembersPerDevice: count.optional(),
        maxMembersPerAddress: count.optional(),
      })
      .optional()
      .describe('Many members sharing one device id or shipping address.'),
  })
  .default({})
  .describe('Anomaly detectors (guardrails/): absent = off.');

export type Detection = z.infer<typeof detectionSchema>;
export type Velocity = z.infer<typeof velocity>;
export const durationMs = (value: string): number => msToNumber(value);
