/**
 * What the worker's activities count and time: how redemptions end, partner calls, webhook
 * attempts, delivery lag and queues. Recorded through the Temporal SDK's metric meter, so they leave the worker process
 * by the same exporter as the SDK's own metrics (`workers/telemetry.ts`): one `/metrics` port.
 * Built once by the worker and handed to the activity factories; a factory given none records
 * nothing (`noopMetricMeter`).
 */
import { noopMetricMeter, type MetricMeter } from '@temporalio/common';

/** How a redemption ended: the statuses the redemption workflow ends in. */
export const redemptionOutcomes = ['completed', 'failed', 'cancelled', 'lost'] as const;
export type RedemptionOutcome = (typeof redemptionOutcomes)[number];

/**
 * How a partner call went: `ok` (2xx, or a status the operation expects, like a cancel's 404),
 * `rejected` (a 4xx the partner means: not retried),
 * `unavailable` (5xx, 408, 409, 425, 429: retried), `timeout` (no answer in time), `network`
 * (no connection, reset).
 */
export type PartnerOutcome = 'ok' | 'rejected' | 'unavailable' | 'timeout' | 'network';

export type Partner = 'warehouse' | 'giftcard';

/** Names and histogram buckets, also given to the exporter (`histogramBucketOverrides`). */
export const metricNames = {
  redemptionDuration: 'loyalty_redemption_duration_seconds',
  partnerDuration: 'loyalty_partner_request_duration_seconds',
  partnerErrors: 'loyalty_partner_request_errors_total',
  webhookAttempts: 'loyalty_webhook_attempts_total',
  webhookLag: 'loyalty_webhook_delivery_lag_seconds',
  webhookPending: 'loyalty_webhook_pending_deliveries',
} as const;

export const histogramBuckets: Record<string, number[]> = {
  // From an instant gift card (well under a second) to a parcel delivered in days.
  [metricNames.redemptionDuration]: [
    0.5,
    1,
    5,
    15,
    60,
    300,
    1800,
    3600,
    4 * 3600,
    12 * 3600,
    86_400,
    2 * 86_400,
    4 * 86_400,
    7 * 86_400,
    14 * 86_400,
    30 * 86_400,
  ],
  [metricNames.partnerDuration]: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
  // Seconds keep pace (the target is a p99 under 5 s); minutes to days are retries.
  [metricNames.webhookLag]: [
    0.1,
    0.25,
    0.5,
    1,
    2,
    5,
    10,
    30,
    60,
    300,
    1800,
    3600,
    6 * 3600,
    86_400,
  ],
};

export interface ActivityMetrics {
  /** A redemption reached its final status, `seconds` after it was requested. */
  redemptionEnded(outcome: RedemptionOutcome, seconds: number): void;
  /** One HTTP call to a partner: its outcome and how long it took. */
  partnerCall(partner: Partner, operation: string, outcome: PartnerOutcome, seconds: number): void;
  /** One webhook delivery attempt: the endpoint took it (2xx) or not. */
  webhookAttempt(result: 'delivered' | 'failed'): void;
  /** An event reached a partner, `seconds` after it happened (first deliveries, not replays). */
  webhookDelivered(seconds: number): void;
  /** How many deliveries a subscription's queue holds pending now. */
  webhookPending(subscriptionId: string, pending: number): void;
}

export function createActivityMetrics(meter: MetricMeter = noopMetricMeter): ActivityMetrics {
  const redemptionDuration = meter.createHistogram(
    metricNames.redemptionDuration,
    'float',
    '',
    'Time from a redemption being requested to its final status, by outcome (completed, failed, cancelled, lost).',
  );
  const partnerDuration = meter.createHistogram(
    metricNames.partnerDuration,
    'float',
    '',
    'Partner HTTP calls by partner, operation and outcome (ok, rejected, unavailable, timeout, network).',
  );
  const partnerErrors = meter.createCounter(
    metricNames.partnerErrors,
    '',
    'Partner HTTP calls that did not answer 2xx, by partner, operation and kind (rejected, unavailable, timeout, network).',
  );
  const webhookAttempts = meter.createCounter(
    metricNames.webhookAttempts,
    '',
    'Webhook delivery attempts by result (delivered: the endpoint answered 2xx; failed: anything else).',
  );
  const webhookLag = meter.createHistogram(
    metricNames.webhookLag,
    'float',
    '',
    'Time from a programme event to its first delivery taking it (2xx), per delivery.',
  );
  const webhookPending = meter.createGauge(
    metricNames.webhookPending,
    'int',
    '',
    "Deliveries pending in a subscription's queue (due now or waiting for a retry), by subscription.",
  );
  return {
    redemptionEnded(outcome, seconds) {
      redemptionDuration.record(Math.max(0, seconds), { outcome });
    },
    partnerCall(partner, operation, outcome, seconds) {
      partnerDuration.record(seconds, { partner, operation, outcome });
      if (outcome !== 'ok') partnerErrors.add(1, { partner, operation, kind: outcome });
    },
    webhookAttempt(result) {
      webhookAttempts.add(1, { result });
    },
    webhookDelivered(seconds) {
      webhookLag.record(Math.max(0, seconds));
    },
    webhookPending(subscriptionId, pending) {
      webhookPending.set(pending, { subscription: subscriptionId });
    },
  };
}
