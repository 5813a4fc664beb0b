/**
 * The rewards catalog as data: what a reward is (kind, price in points, cash value, the tiers that
 * may have it), its substitution policy, and the shape of coupon codes. Pure zod schemas and types,
 * shared by the API (which validates with them at the edge) and `catalog/`.
 */
import { z } from 'zod';
import { msToNumber } from '@temporalio/common/lib/time';

export const rewardKinds = ['physical', 'gift_card', 'coupon'] as const;
export type RewardKind = (typeof rewardKinds)[number];

export const substitutionModes = ['none', 'auto', 'approval'] as const;

const keyPattern = /^[A-Za-z0-9._:@/-]{1,128}$/;

/** A reward's id: its SKU or business key, like API keys and event ids. */
export const rewardId = z.string().regex(keyPattern, '1 to 128 letters, digits or . _ : @ / -');

/** Redemption ids are business keys too. */
export const redemptionId = rewardId;

const name = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, '1 to 64 letters, digits or . _ -');

export const couponCode = z
  .string()
  .regex(/^[A-Za-z0-9._:@/+=#-]{1,128}$/, '1 to 128 letters, digits or . _ : @ / + = # -');

/** Milliseconds of a duration, NaN when it is not one (refinements run even after a bad field). */
const ms = (value: string): number => {
  try {
    return msToNumber(value);
  } catch {
    return Number.NaN;
  }
};

const duration = z
  .string()
  .refine(
    (value) => ms(value) > 0,
    'expected a positive duration such as "2 days" or "30 seconds"',
  );

export const substitutionSchema = z
  .strictObject({
    mode: z
      .enum(substitutionModes)
      .default('none')
      .describe('none: never; auto: substitute at once; approval: ask the member first.'),
    sameCategory: z.boolean().default(true).describe('Substitutes must share the category.'),
    cashValueBand: z
      .number()
      .min(0)
      .max(1)
      .default(0.2)
      .describe("A substitute's cash value is within this fraction of the reward's (0.2: ±20 %)."),
    approvalDeadline: duration
      .default('2 days')
      .describe('approval: how long the member has to accept a substitute.'),
    reminderBefore: duration
      .default('1 day')
      .describe('approval: remind the member this long before the deadline.'),
  })
  .superRefine((policy, ctx) => {
    if (ms(policy.reminderBefore) >= ms(policy.approvalDeadline)) {
      ctx.addIssue({
        code: 'custom',
        path: ['reminderBefore'],
        message: 'must be shorter than approvalDeadline',
      });
    }
  });

export type SubstitutionPolicy = z.infer<typeof substitutionSchema>;

export const defaultSubstitution: SubstitutionPolicy = substitutionSchema.parse({});

const money = z.number().min(0).max(1_000_000_000).multipleOf(0.01, 'at most 2 decimals');
const tiersAllowed = z
  .array(name)
  .max(20)
  .refine((tiers) => new Set(tiers).size === tiers.length, 'a tier is listed twice')
  .describe('The tiers that may redeem the reward; empty: every tier.');

const editable = {
  name: z.string().trim().min(1).max(200),
  pointsCost: z.number().int().min(1).max(1_000_000_000),
  cashValue: money.describe('What the reward is worth, for substitution bands and reports.'),
  tiersAllowed: tiersAllowed,
  substitution: substitutionSchema,
  active: z.boolean().describe('Inactive rewards cannot be redeemed or substituted.'),
};

export const newRewardSchema = z
  .strictObject({
    id: rewardId.describe('The SKU or business key: creating the same reward again is a no-op.'),
    kind: z.enum(rewardKinds),
    category: name,
    currency: z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code, e.g. EUR'),
    ...editable,
    tiersAllowed: tiersAllowed.default([]),
    substitution: substitutionSchema.default(defaultSubstitution),
    active: editable.active.default(true),
    campaign: name
      .optional()
      .describe(
        "The campaign the reward belongs to: its redemptions count against the campaign's budget.",
      ),
    provider: name.optional().describe('Gift cards: the provider that issues them.'),
    denomination: money
      .refine((value) => value > 0, 'must be more than 0')
      .optional()
      .describe("Gift cards: the card's face value."),
    inventory: z
      .strictObject({
        onHand: z.number().int().min(0).max(1_000_000_000),
        threshold: z.number().int().min(0).max(1_000_000_000).default(0),
      })
      .optional()
      .describe('Physical rewards: the initial stock, applied when the reward is created.'),
  })
  .superRefine((reward, ctx) => {
    const giftCard = reward.kind === 'gift_card';
    for (const field of ['provider', 'denomination'] as const) {
      if (giftCard && reward[field] === undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: 'is required for a gift card' });
      if (!giftCard && reward[field] !== undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: 'only gift cards have one' });
    }
    if (reward.inventory && reward.kind !== 'physical')
      ctx.addIssue({
        code: 'custom',
        path: ['inventory'],
        message: 'only physical rewards have inventory',
      });
  });

export type NewReward = z.infer<typeof newRewardSchema>;

export const rewardPatchSchema = z
  .strictObject({
    name: editable.name.optional(),
    pointsCost: editable.pointsCost.optional(),
    cashValue: editable.cashValue.optional(),
    tiersAllowed: editable.tiersAllowed.optional(),
    substitution: editable.substitution
      .optional()
      .describe('The whole policy: fields left out take their defaults.'),
    active: editable.active.optional(),
    campaign: name
      .nullable()
      .optional()
      .describe(
        'Tags the reward with a campaign (null: none); redemptions taken already stay counted.',
      ),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'name at least one field to change');

export type RewardPatch = z.infer<typeof rewardPatchSchema>;
