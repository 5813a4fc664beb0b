/**
 * The metric names the shipped alerts (deploy/prometheus) and dashboard (deploy/grafana) may use,
 * by who exports them. test/monitoring.test.ts checks the deploy files against these lists; the
 * lists are checked against real scrapes: the API's in test/monitoring.test.ts, the worker's and
 * the Temporal SDK's in test/worker-metrics.test.ts.
 */
import { metricNames } from '../../activities/metrics';

/** The API's `/metrics` (api/metrics.ts): figures read from Postgres, and HTTP timings. */
export const apiMetrics = {
  histograms: ['http_request_duration_seconds'],
  others: [
    'loyalty_members',
    'loyalty_points_outstanding',
    'loyalty_liability',
    'loyalty_points_issued_total',
    'loyalty_points_redeemed_total',
    'loyalty_points_expired_total',
    'loyalty_points_adjusted_total',
    'loyalty_redemptions',
    'loyalty_redemptions_past_sla',
    'loyalty_giftcard_float',
    'loyalty_giftcard_float_days_left',
    'loyalty_rewards_low_stock',
    'loyalty_budget_usage_ratio',
    'loyalty_redemption_reviews_total',
    'loyalty_anomaly_findings_total',
    'loyalty_frozen_points_total',
    'loyalty_redemption_delivered_after_lost_total',
    'loyalty_redemptions_undoing',
    'loyalty_webhook_subscriptions',
  ],
};

/** The worker's own (activities/metrics.ts). */
export const workerMetrics = {
  histograms: [metricNames.redemptionDuration, metricNames.partnerDuration, metricNames.webhookLag],
  others: [metricNames.partnerErrors, metricNames.webhookAttempts, metricNames.webhookPending],
};

/** The Temporal SDK's worker metrics used, as the worker's exporter names them. */
export const temporalSdkMetrics = {
  histograms: [
    'temporal_workflow_task_schedule_to_start_latency',
    'temporal_activity_schedule_to_start_latency',
    'temporal_activity_execution_latency',
  ],
  others: [
    'temporal_num_pollers',
    'temporal_worker_task_slots_available',
    'temporal_activity_execution_failed',
    'temporal_workflow_completed',
  ],
};

/** Prometheus's own, per scrape target. */
export const prometheusMetrics = { histograms: [] as string[], others: ['up'] };
