/**
 * Program policy as data: earning rules, caps, tiers, dormancy and expiry. Each published version
 * is immutable (table `rule_sets`); every ledger entry records the version that produced it.
 * Durations are strings such as `365 days` or `5 seconds`, so tests compress time by publishing a
 * policy with short ones. Pure: imported by the API, the activities and the workflows alike.
 */
import { z } from 'zod';
import { msToNumber } from '@temporalio/common/lib/time';
import { budgetsSchema } from './budgets';
import { detectionSchema } from '../guardrails/policy';

const duration = z.string().refine((value) => {
  try {
    return msToNumber(value) > 0;
  } catch {
    return false;
  }
}, 'expected a positive duration such as "30 days" or "10 seconds"');

const name = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits and . _ - only');
const multiplier = z.number().min(0).max(100);
const points = z.number().int().min(0).max(1_000_000_000);

const cap = z.strictObject({
  perDay: points.optional().describe('Most points a member may earn per UTC day.'),
  perMonth: points.optional().describe('Most points a member may earn per UTC month.'),
});

const bonus = z.strictObject({
  name,
  description: z.string().max(200).optional(),
  eventType: name.describe('Event type the bonus applies to (purchase, referral, or custom).'),
  channel: name.optional(),
  country: z.string().length(2).optional(),
  category: name.optional().describe('Purchases with at least one line in this category.'),
  minAmount: z.number().min(0).optional().describe('Purchases of at least this amount.'),
  points: points.describe('Points added once per matching event.'),
});

export const tierBenefitsSchema = z.strictObject({
  earningMultiplier: multiplier.default(1),
  fulfilmentPriority: z.number().int().min(0).max(100).default(0),
  fasterReturns: z.boolean().default(false),
  freeShipping: z.boolean().default(false),
  serviceRecoveryCredit: points
    .default(0)
    .describe('Points credited once when a redemption misses its delivery SLA (0: none).'),
});

const tier = z.strictObject({
  name,
  qualifyingPoints: points.describe('Qualifying points in the window needed to reach the tier.'),
  benefits: tierBenefitsSchema.default({
    earningMultiplier: 1,
    fulfilmentPriority: 0,
    fasterReturns: false,
    freeShipping: false,
    serviceRecoveryCredit: 0,
  }),
});

/** The redemption policy of a program that states none. */
const redemptionDefaults = {
  deliverySla: '7 days',
  lostAfter: '30 days',
  partnerAttempts: 20,
  partnerMaxInterval: '1 minute',
  backorderCheckEvery: '1 hour',
  backorderFor: '30 days',
  returnWindow: '30 days',
  returnRefundAfter: '14 days',
  fastReturnRefundAfter: '1 day',
  reviewDeadline: '2 days',
  reviewReminderBefore: '12 hours',
  reviewOnTimeout: 'reject' as const,
};

export const programSchema = z
  .strictObject({
    earning: z.strictObject({
      pointsPerUnit: z
        .record(z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code'), multiplier)
        .describe('Base points per currency unit, by currency; other currencies are refused.'),
      channelMultipliers: z.record(name, multiplier).default({}),
      categoryMultipliers: z.record(name, multiplier).default({}),
      eventPoints: z
        .record(name, points)
        .default({})
        .describe('Fixed points for non-purchase events: referral, review and custom types.'),
      bonuses: z.array(bonus).max(100).default([]),
      caps: z
        .strictObject({
          all: cap.default({}),
          byEventType: z.record(name, cap).default({}),
        })
        .default({ all: {}, byEventType: {} }),
      pendingPeriod: duration
        .optional()
        .describe('Purchase points stay pending this long (the return window); unset: at once.'),
    }),
    tiers: z
      .array(tier)
      .min(1)
      .max(20)
      .refine((tiers) => tiers[0]?.qualifyingPoints === 0, 'the first tier must need 0 points')
      .refine(
        (tiers) =>
          tiers.every((t, i) => i === 0 || t.qualifyingPoints > tiers[i - 1]!.qualifyingPoints),
        'tiers must be in ascending order of qualifyingPoints',
      )
      .refine((tiers) => new Set(tiers.map((t) => t.name)).size === tiers.length, 'duplicate tier'),
    tierPolicy: z.strictObject({
      qualificationWindow: duration.describe('Rolling window of qualifying points.'),
      tierPeriod: duration.describe('A tier, once reached, holds at least this long.'),
      gracePeriod: duration.describe(
        'After a period ends unqualified, wait this long to downgrade.',
      ),
    }),
    dormancy: z.strictObject({
      after: duration.describe('No qualifying activity this long marks the member dormant.'),
    }),
    expiry: z.strictObject({
      policy: z
        .enum(['fixed', 'activity'])
        .describe(
          'fixed: each lot expires a lot lifetime after it was earned; activity: qualifying activity extends every lot.',
        ),
      lotLifetime: duration,
      reminderBefore: duration.describe('Remind the member this long before points expire.'),
    }),
    lifecycle: z
      .strictObject({
        maxSleep: duration.describe('The member workflow re-checks at least this often.'),
      })
      .default({ maxSleep: '1 day' }),
    redemption: z
      .strictObject({
        deliverySla: duration.describe('A shipment not delivered this long breaches the SLA.'),
        lostAfter: duration
          .default('30 days')
          .describe(
            'A parcel shipped and not delivered this long is lost: the points are given back.',
          ),
        perDay: points
          .optional()
          .describe('Most redemptions a member may start per UTC day (unset: no cap).'),
        perMonth: points
          .optional()
          .describe('Most redemptions a member may start per UTC month (unset: no cap).'),
        reviewAbovePoints: points
          .optional()
          .describe(
            'Review hold: redemptions costing more points than this wait in_review for ops.',
          ),
        reviewDeadline: duration
          .default('2 days')
          .describe('A redemption in review undecided this long is decided by reviewOnTimeout.'),
        reviewReminderBefore: duration
          .default('12 hours')
          .describe('Ops are reminded (an event) this long before a review deadline.'),
        reviewOnTimeout: z
          .enum(['release', 'reject'])
          .default('reject')
          .describe('At the review deadline: release (approve) or reject and refund the points.'),
        partnerAttempts: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .default(20)
          .describe('Tries of a partner call (5xx, timeouts) before the redemption fails.'),
        partnerMaxInterval: duration
          .default('1 minute')
          .describe('Longest wait between two tries of a partner call.'),
        backorderCheckEvery: duration
          .default('1 hour')
          .describe('A backordered redemption checks for stock this often.'),
        backorderFor: duration
          .default('30 days')
          .describe('A backorder not filled in this long is refunded.'),
        returnWindow: duration
          .default('30 days')
          .describe('A delivered reward may be returned this long after it was asked for.'),
        returnRefundAfter: duration
          .default('14 days')
          .describe('A returned reward is refunded this long after it was received.'),
        fastReturnRefundAfter: duration
          .default('1 day')
          .describe('The same, for tiers with the fasterReturns benefit.'),
      })
      .default(redemptionDefaults),
    budgets: budgetsSchema,
    detection: detectionSchema,
  })
  .describe('A loyalty program policy version.');

export type Program = z.infer<typeof programSchema>;
export type ProgramInput = z.input<typeof programSchema>;
export type TierBenefits = z.infer<typeof tierBenefitsSchema>;
export type Tier = Program['tiers'][number];

/** Milliseconds of a policy duration (validated at publication). */
export const ms = (value: string): number => msToNumber(value);

/** The policy a fresh install starts with (rule set version 1). */
export const defaultProgram: ProgramInput = {
  earning: {
    pointsPerUnit: { EUR: 1, USD: 1, GBP: 1 },
    channelMultipliers: { app: 1.5 },
    categoryMultipliers: { giftcards: 0 },
    eventPoints: { referral: 500, review: 50 },
    bonuses: [],
    caps: { all: { perDay: 10_000 }, byEventType: { review: { perMonth: 200 } } },
    pendingPeriod: '30 days',
  },
  tiers: [
    { name: 'Member', qualifyingPoints: 0 },
    {
      name: 'Silver',
      qualifyingPoints: 2_000,
      benefits: { earningMultiplier: 1.25, fulfilmentPriority: 1 },
    },
    {
      name: 'Gold',
      qualifyingPoints: 5_000,
      benefits: {
        earningMultiplier: 1.5,
        fulfilmentPriority: 2,
        fasterReturns: true,
        serviceRecoveryCredit: 200,
      },
    },
    {
      name: 'Platinum',
      qualifyingPoints: 15_000,
      benefits: {
        earningMultiplier: 2,
        fulfilmentPriority: 3,
        fasterReturns: true,
        freeShipping: true,
        serviceRecoveryCredit: 500,
      },
    },
  ],
  tierPolicy: { qualificationWindow: '365 days', tierPeriod: '365 days', gracePeriod: '30 days' },
  dormancy: { after: '180 days' },
  expiry: { policy: 'fixed', lotLifetime: '730 days', reminderBefore: '30 days' },
  lifecycle: { maxSleep: '1 day' },
  redemption: redemptionDefaults,
};

export function tierIndex(program: Program, tierName: string): number {
  const index = program.tiers.findIndex((t) => t.name === tierName);
  return index < 0 ? 0 : index;
}

/** The highest tier whose threshold `qualifying` reaches. */
export function tierFor(program: Program, qualifying: number): Tier {
  let reached = program.tiers[0]!;
  for (const t of program.tiers) if (qualifying >= t.qualifyingPoints) reached = t;
  return reached;
}
