/** The shapes of the redemption routes: what they take (the queue's filters) and answer. */
import { z } from 'zod';
import { codeDescription } from '../../domain/codes';
import { redemptionStatuses, type RedemptionStatus } from '../../domain/redemption';
import { actorTypes, redemptionActions } from '../../domain/redemption-ops';
import { rewardKinds } from '../../domain/rewards';
import { eventContextSchema } from '../../guardrails/geo';
import type { QueueFilter } from '../../redemptions/queue';

export const key = z
  .string()
  .regex(/^[A-Za-z0-9._:@-]{1,128}$/, '1 to 128 letters, digits or . _ : @ -');

/** A point in the queue's change feed (a Postgres transaction id, as digits). */
export const cursor = z.string().regex(/^\d{1,20}$/, 'a cursor: digits');

export const redeemBody = z.strictObject({
  redemptionId: key
    .optional()
    .describe(
      'Your id for this redemption: the same id is one redemption. Unset: derived from the Idempotency-Key header, else new.',
    ),
  memberId: z.uuid(),
  rewardId: key,
  quantity: z.number().int().min(1).max(100).default(1),
  backorder: z
    .boolean()
    .default(false)
    .describe('Out of stock with no substitute taken: wait for stock instead of a refund.'),
  shipTo: z
    .strictObject({
      country: eventContextSchema.shape.country.unwrap(),
      address: z.string().trim().min(5).max(500),
    })
    .optional()
    .describe(
      'Where it ships (optional): screened by the anomaly detectors (unusual country, many members at one address).',
    ),
});

export const view = z.object({
  redemptionId: z.string(),
  memberId: z.uuid(),
  rewardId: z.string(),
  quantity: z.number().int(),
  backorder: z.boolean(),
  status: z.enum(redemptionStatuses),
  tier: z.string().nullable(),
  points: z.number().int().nullable(),
  priority: z.number().int().nullable(),
  reason: z.string().nullable(),
  requestedBy: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  workflow: z.object({ id: z.string(), url: z.url() }),
});

/** What `POST /redemptions` answers: the redemption, and how its first step (the hold) ended. */
export const redeemed = view.extend({
  hold: z
    .discriminatedUnion('outcome', [
      z.object({
        outcome: z.literal('held'),
        status: z.enum(redemptionStatuses),
        points: z.number().int(),
        tier: z.string(),
      }),
      z.object({
        outcome: z.literal('refused'),
        status: z.enum(redemptionStatuses),
        reason: z.string(),
        failureType: z.string(),
      }),
    ])
    .nullable()
    .describe(
      'The points held, or refused with the reason (the redemption is then `failed`). Null when not known in time (`REDEMPTION_ANSWER_SECONDS`), or for a run on code from before: read `GET /redemptions/:id`.',
    ),
});

export const params = z.object({ id: key });

export const sla = {
  slaDeadline: z.iso
    .datetime()
    .nullable()
    .describe(
      'By when it must be delivered: (shipped at, else requested at) + the program delivery SLA; null once not waiting for delivery.',
    ),
  slaBreached: z.boolean().describe('Past its deadline while open, or a breach was recorded.'),
  atRisk: z
    .boolean()
    .describe('Waiting for delivery and within `SLA_AT_RISK_SECONDS` of its deadline, or past it.'),
};
export const row = view.extend(sla);

export const statusList = z
  .union([z.string(), z.array(z.string())])
  .transform((value, ctx): RedemptionStatus[] => {
    const asked = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(','));
    const unknown = asked.filter((v) => !(redemptionStatuses as readonly string[]).includes(v));
    if (unknown.length || asked.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown status ${unknown.map((v) => `'${v}'`).join(', ')}; one of ${redemptionStatuses.join(', ')}`,
      });
      return z.NEVER;
    }
    return asked as RedemptionStatus[];
  })
  .optional()
  .describe(
    `One status, several comma-separated (\`shipped,shipment_requested\`), or repeated: ${redemptionStatuses.join(', ')}.`,
  );

export const queueFilter = z.object({
  status: statusList,
  tier: z.string().min(1).max(64).optional(),
  memberId: z.uuid().optional(),
  rewardId: key.optional(),
  olderThan: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Only those asked for at least this many seconds ago.'),
  olderThanMinutes: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Only those asked for at least this many minutes ago.'),
  createdBefore: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('Only those asked for before.'),
  atRisk: z
    .stringbool()
    .optional()
    .describe('true: only those at risk of breaching their delivery SLA (or past it).'),
});

/** The filter as the queue queries take it: the ages as one `createdBefore`, the earliest. */
export function filterOf(query: z.infer<typeof queueFilter>, now: Date): QueueFilter {
  const cutoffs = [
    query.createdBefore === undefined ? undefined : Date.parse(query.createdBefore),
    query.olderThan === undefined ? undefined : now.getTime() - query.olderThan * 1000,
    query.olderThanMinutes === undefined
      ? undefined
      : now.getTime() - query.olderThanMinutes * 60_000,
  ].filter((t): t is number => t !== undefined);
  return {
    statuses: query.status,
    tier: query.tier,
    memberId: query.memberId,
    rewardId: query.rewardId,
    createdBefore: cutoffs.length ? new Date(Math.min(...cutoffs)) : undefined,
    atRisk: query.atRisk,
  };
}

export const timelineEntry = z.object({
  step: z.string(),
  at: z.iso.datetime(),
  detail: z.record(z.string(), z.unknown()),
  actor: z
    .string()
    .describe(
      'Who did it: `<role>:<key name>` (an API key), `system:<what>` or `partner:<which>`.',
    ),
  actorType: z.enum(actorTypes),
  reason: z
    .string()
    .nullable()
    .describe('Why: for cancels, returns, substitutions, failures, losses, SLA breaches.'),
});

export const detail = row.extend({
  live: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe(
      `What the workflow has decided so far, from the steps it recorded in Postgres. ${codeDescription}`,
    ),
  timeline: z
    .array(timelineEntry)
    .describe(
      'Every step the workflow recorded, oldest first (the request is `createdAt` by `requestedBy`).',
    ),
  allowedActions: z
    .array(z.enum(redemptionActions))
    .describe(
      'What the caller may do now (`ops`/`admin` only): cancel until it ships; return once delivered, within the window.',
    ),
  member: z
    .object({
      id: z.uuid(),
      externalId: z.string(),
      name: z.string().nullable(),
      status: z.string(),
      tier: z.string(),
    })
    .nullable(),
  reward: z
    .object({
      id: z.string(),
      name: z.string(),
      kind: z.enum(rewardKinds),
      category: z.string(),
      pointsCost: z.number().int(),
      cashValue: z.number(),
      currency: z.string(),
      provider: z.string().nullable(),
      denomination: z.number().nullable(),
    })
    .nullable(),
  fulfilment: z
    .object({
      shipment: z
        .object({
          sku: z.string().describe('The SKU shipped (a substitute when one was approved).'),
          trackingNumber: z.string().nullable(),
          requestedAt: z.iso.datetime().nullable(),
          shippedAt: z.iso.datetime().nullable(),
          deliveredAt: z.iso.datetime().nullable(),
        })
        .nullable(),
      giftCard: z
        .object({
          provider: z.string(),
          cardId: z.string(),
          code: z.string(),
          denomination: z.number(),
          currency: z.string(),
          status: z.string(),
          issuedAt: z.iso.datetime(),
        })
        .nullable(),
      coupon: z.object({ code: z.string(), assignedAt: z.iso.datetime().nullable() }).nullable(),
    })
    .describe(codeDescription),
});
