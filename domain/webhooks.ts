/**
 * Partner webhooks as data: the event types a subscription may ask for (every program event the
 * system writes to its outbox), how a subscription's filter matches them, and the retry schedule.
 * Pure: imported by the API, the activities and the workflows.
 */
import { msToNumber } from '@temporalio/common/lib/time';
import { launchEventTypes } from './launch-plan';

export const webhookEventTypes = [
  'member.enrolled',
  'member.tier_changed',
  'member.tier_grace',
  'member.tier_renewed',
  'member.dormant',
  'member.reactivated',
  'member.closed',
  // Ops suspended or reinstated the member (ledger/suspension.ts).
  'member.suspended',
  'member.reinstated',
  'points.accrued',
  'points.activated',
  'points.expiring',
  'points.expired',
  'points.adjusted',
  'points.reversed',
  // Flagged accruals (ledger/frozen.ts): frozen for review, then released or voided.
  'points.frozen',
  'points.released',
  'points.voided',
  'redemption.created',
  'redemption.shipped',
  'redemption.delivered',
  'redemption.completed',
  'redemption.failed',
  'redemption.cancelled',
  'redemption.lost',
  'redemption.sla_breached',
  // The review hold (workflows/redemption/review.ts): held, reminded before the deadline, decided.
  'redemption.held_for_review',
  'redemption.review_reminder',
  'redemption.review_decided',
  'redemption.returned',
  'redemption.refunded',
  // Ops settled the points a redemption left held (its workflow closed past the point of no return).
  'redemption.settled',
  // A parcel delivered after its redemption ended lost (points given back): ops to follow up.
  'redemption.delivered_after_lost',
  'substitution.pending',
  'substitution.reminder',
  'substitution.approved',
  'substitution.rejected',
  'substitution.timed_out',
  'inventory.replenishment_requested',
  'inventory.replenished',
  'giftcard.float_low',
  // Programme budgets (domain/budgets.ts): a warning percentage reached, the limit reached.
  'budget.warning',
  'budget.exhausted',
  // Anomaly detectors (guardrails/): one event per finding.
  'anomaly.detected',
  'webhook.subscription_disabled',
  // Change control: members told ahead of a rule change and when it is in force.
  'program.rules_changing',
  'program.rules_changed',
  ...launchEventTypes,
] as const;

export type WebhookEventType = (typeof webhookEventTypes)[number];

/** A filter is an event type, a family (`redemption.*`) or everything (`*`). */
export function isValidFilter(filter: string): boolean {
  if (filter === '*') return true;
  if (filter.endsWith('.*')) {
    const family = filter.slice(0, -1);
    return webhookEventTypes.some((type) => type.startsWith(family));
  }
  return (webhookEventTypes as readonly string[]).includes(filter);
}

export function matches(filters: readonly string[], type: string): boolean {
  return filters.some(
    (f) => f === '*' || f === type || (f.endsWith('.*') && type.startsWith(f.slice(0, -1))),
  );
}

/** `5s,5m,30m` into milliseconds; throws naming the bad entry. */
export function parseSchedule(value: string): number[] {
  return value.split(',').map((part) => {
    const ms = (() => {
      try {
        return msToNumber(part.trim());
      } catch {
        return NaN;
      }
    })();
    if (!(ms > 0)) throw new Error(`'${part.trim()}' is not a positive duration`);
    return ms;
  });
}

/** Why a subscription is disabled after a delivery failed through the whole schedule. */
export function failingReason(
  scheduleMs: number[],
  attempts: number,
  error: string | null,
): string {
  const hours = Math.round(scheduleMs.reduce((a, b) => a + b, 0) / 3_600_000);
  return `failing for ${hours} h: ${attempts} attempts, last: ${error}`;
}

/** What a partner receives (the Standard Webhooks payload shape: type, timestamp, data). */
export interface WebhookPayload {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}
