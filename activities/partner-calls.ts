/**
 * The partner calls this worker process made lately, remembered for the readiness checks: how
 * many calls to each partner, and how many failed (no answer, 5xx, 408/409/425/429: the outcomes
 * the `LoyaltyPartnerErrors` alert counts; a 4xx the partner means is an answer, not an error).
 * Fed by wrapping the worker's `ActivityMetrics` (`recordingPartnerCalls`), so every call
 * `partnerClient` times is seen. One process's view: with Prometheus configured the readiness
 * check asks it instead, across every worker.
 */
import type { ActivityMetrics, Partner, PartnerOutcome } from './metrics';

export interface PartnerCallCounts {
  calls: number;
  errors: number;
}

export interface PartnerCallLog {
  record(partner: Partner, outcome: PartnerOutcome, atMs?: number): void;
  /** Calls to `partner` at or after `fromMs` (epoch ms). */
  since(partner: Partner, fromMs: number): PartnerCallCounts;
}

const isError = (outcome: PartnerOutcome): boolean => outcome !== 'ok' && outcome !== 'rejected';

/** Keeps the newest `limit` calls per partner (a ring: memory stays bounded under load). */
export function createPartnerCallLog(limit = 10_000): PartnerCallLog {
  const calls = new Map<Partner, { at: number; error: boolean }[]>();
  return {
    record(partner, outcome, atMs = Date.now()) {
      const list = calls.get(partner) ?? [];
      list.push({ at: atMs, error: isError(outcome) });
      if (list.length > limit) list.splice(0, list.length - limit);
      calls.set(partner, list);
    },
    since(partner, fromMs) {
      const recent = (calls.get(partner) ?? []).filter((c) => c.at >= fromMs);
      return { calls: recent.length, errors: recent.filter((c) => c.error).length };
    },
  };
}

/** `metrics`, also telling `log` about every partner call. */
export function recordingPartnerCalls(
  metrics: ActivityMetrics,
  log: PartnerCallLog,
): ActivityMetrics {
  return {
    redemptionEnded: (outcome, seconds) => metrics.redemptionEnded(outcome, seconds),
    webhookAttempt: (result) => metrics.webhookAttempt(result),
    webhookDelivered: (seconds) => metrics.webhookDelivered(seconds),
    webhookPending: (id, pending) => metrics.webhookPending(id, pending),
    partnerCall(partner, operation, outcome, seconds) {
      log.record(partner, outcome);
      metrics.partnerCall(partner, operation, outcome, seconds);
    },
  };
}
