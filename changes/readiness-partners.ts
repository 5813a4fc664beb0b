/**
 * Readiness of the partners: each one reachable (its `/health` answers; any answer short of 5xx,
 * 408 or 429 shows it is there) with an acceptable share of failed calls over the last 10 minutes
 * (from Prometheus when PROMETHEUS_URL is set, across every worker; else from this worker
 * process's own calls); and the gift-card float covering the projected issuance of the first days.
 */
import type { Partner } from '../activities/metrics';
import {
  guarded,
  type CheckResult,
  type ReadinessDeps,
  type SimulationSummary,
} from './readiness-common';
import { promQuery } from './readiness-alerts';

/** How far back the partner error rate looks (the LoyaltyPartnerErrors alert's window). */
export const partnerWindowMs = 10 * 60_000;
const probeTimeoutMs = 5000;

const money = (n: number): string => n.toFixed(2);
const percent = (n: number): string => `${Math.round(n * 1000) / 10}%`;

interface Probe {
  reachable: boolean;
  status: number | null;
  latencyMs: number;
  error?: string;
}

async function probe(url: string): Promise<Probe & { body?: unknown }> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  try {
    const response = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(probeTimeoutMs),
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const status = response.status;
    const reachable = status < 500 && status !== 408 && status !== 429;
    return { reachable, status, latencyMs: latency(), body };
  } catch (err) {
    const timedOut = (err as Error).name === 'TimeoutError';
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const error = timedOut
      ? `no answer in ${probeTimeoutMs} ms`
      : (cause?.code ?? cause?.message ?? (err as Error).message);
    return { reachable: false, status: null, latencyMs: latency(), error };
  }
}

interface ErrorRate {
  source: 'prometheus' | 'worker';
  calls: number;
  errors: number;
  /** Why Prometheus was not used although PROMETHEUS_URL is set. */
  prometheusError?: string;
}

async function fromPrometheus(baseUrl: string, partner: Partner): Promise<ErrorRate> {
  const window = `${partnerWindowMs / 60_000}m`;
  const [errors, calls] = await Promise.all([
    promQuery(
      baseUrl,
      `sum(increase(loyalty_partner_request_errors_total{partner="${partner}",kind!="rejected"}[${window}]))`,
    ),
    promQuery(
      baseUrl,
      `sum(increase(loyalty_partner_request_duration_seconds_count{partner="${partner}"}[${window}]))`,
    ),
  ]);
  return { source: 'prometheus', calls: Math.round(calls ?? 0), errors: Math.round(errors ?? 0) };
}

/** Prometheus' figure when it is configured and answers; else this worker's own calls. */
async function errorRateOf(deps: ReadinessDeps, partner: Partner): Promise<ErrorRate | null> {
  let prometheusError: string | undefined;
  if (deps.config.PROMETHEUS_URL) {
    try {
      return await fromPrometheus(deps.config.PROMETHEUS_URL, partner);
    } catch (err) {
      prometheusError = (err as Error).message;
    }
  }
  if (!deps.partnerCalls) return null;
  const counts = deps.partnerCalls.since(partner, Date.now() - partnerWindowMs);
  return { source: 'worker', ...counts, ...(prometheusError ? { prometheusError } : {}) };
}

function partnerCheck(
  deps: ReadinessDeps,
  partner: Partner,
  baseUrl: string,
  maxErrorRate: number,
): Promise<CheckResult> {
  const name = `partner:${partner}` as const;
  return guarded(name, async () => {
    const url = new URL('/health', baseUrl).href;
    const [reach, rate] = await Promise.all([probe(url), errorRateOf(deps, partner)]);
    const { body: _body, ...reachability } = reach;
    const errorRate = rate && rate.calls > 0 ? rate.errors / rate.calls : null;
    const observed = { url, ...reachability, maxErrorRate, calls: rate, errorRate };
    const said = reach.status === null ? reach.error : `answered ${reach.status}`;
    if (!reach.reachable) {
      return { name, ok: false, detail: `${partner} is not reachable: ${url} ${said}`, observed };
    }
    const where =
      rate?.source === 'prometheus'
        ? 'by Prometheus'
        : rate?.prometheusError
          ? `by this worker: Prometheus could not be asked (${rate.prometheusError})`
          : 'by this worker';
    const minutes = partnerWindowMs / 60_000;
    if (!rate) {
      return {
        name,
        ok: true,
        detail: `${partner} ${said} in ${reach.latencyMs} ms; its error rate is not measured here (no partner-call record in this process, no PROMETHEUS_URL)`,
        observed,
      };
    }
    if (errorRate === null) {
      return {
        name,
        ok: true,
        detail: `${partner} ${said} in ${reach.latencyMs} ms; no calls to it in the last ${minutes} minutes (${where})`,
        observed,
      };
    }
    const ok = errorRate <= maxErrorRate;
    const rateWords = `${rate.errors} of ${rate.calls} calls in the last ${minutes} minutes failed (${percent(errorRate)}, ${where})`;
    return {
      name,
      ok,
      detail: ok
        ? `${partner} ${said} in ${reach.latencyMs} ms; ${rateWords}`
        : `${partner} fails too often: ${rateWords}, over the ${percent(maxErrorRate)} allowed`,
      observed,
    };
  });
}

export function partnerChecks(deps: ReadinessDeps, maxErrorRate: number): Promise<CheckResult[]> {
  return Promise.all([
    partnerCheck(deps, 'warehouse', deps.config.WAREHOUSE_URL, maxErrorRate),
    partnerCheck(deps, 'giftcard', deps.config.GIFTCARD_URL, maxErrorRate),
  ]);
}

/**
 * The provider's float (its `GET /float` now; else as its answers last reported it) against the
 * projected issuance of `days` days: the cards issued per day over FLOAT_BURN_DAYS, scaled by the
 * simulation's points (simulated / actual: more points earned, more redeemed) when one is given.
 */
export async function floatCheck(
  deps: ReadinessDeps,
  days: number,
  simulation: SimulationSummary | null | undefined,
): Promise<CheckResult> {
  const live = await probe(new URL('/float', deps.config.GIFTCARD_URL).href);
  const liveFloat = live.status !== null && live.status < 300 ? floatOf(live.body) : null;
  let balance: number;
  let currency: string | null;
  let source: string;
  if (liveFloat) {
    ({ balance, currency } = liveFloat);
    source = 'as the provider answers now';
  } else {
    const row = await deps
      .db<{ balance: number; currency: string | null; updated_at: Date }>('giftcard_floats')
      .orderBy('updated_at', 'desc')
      .first();
    if (!row) {
      const why = live.status === null ? live.error : `answered ${live.status}`;
      return {
        name: 'float',
        ok: false,
        detail: `the gift-card float is unknown: GET /float ${why}, and no answer ever reported it`,
      };
    }
    ({ balance, currency } = row);
    source = `as last reported, ${row.updated_at.toISOString()} (the provider's GET /float ${live.status === null ? live.error : `answered ${live.status}`})`;
  }
  const burnDays = deps.config.FLOAT_BURN_DAYS;
  const { rows } = await deps.db.raw<{ rows: { issued: number }[] }>(
    `SELECT coalesce(sum(denomination), 0)::float8 AS issued FROM gift_cards
     WHERE issued_at >= now() - make_interval(days => :burnDays)
       AND (:currency::text IS NULL OR currency = :currency::text)`,
    { burnDays, currency },
  );
  const issued = rows[0]!.issued;
  const points = simulation?.state === 'completed' ? simulation.result?.points : undefined;
  const scale = points && points.actual > 0 ? points.simulated / points.actual : 1;
  const perDay = issued / burnDays;
  const projected = Math.round(perDay * days * scale * 100) / 100;
  const cur = currency ?? '';
  const ok = balance >= projected;
  const basis =
    `${money(perDay)} ${cur} a day: ${money(issued)} issued in the last ${burnDays} days` +
    (points ? `, × ${scale.toFixed(2)} by the simulation's points` : '');
  return {
    name: 'float',
    ok,
    detail: `float ${money(balance)} ${cur} (${source}) ${ok ? 'covers' : 'does not cover'} the projected issuance of ${days} days, ${money(projected)} ${cur} (${basis})`,
    observed: {
      balance,
      currency,
      source: liveFloat ? 'provider' : 'last-reported',
      issued,
      burnDays,
      perDay,
      scale,
      days,
      projected,
    },
  };
}

function floatOf(body: unknown): { balance: number; currency: string | null } | null {
  const b = body as { balance?: unknown; currency?: unknown } | undefined;
  const balance = Number(b?.balance);
  if (b?.balance === undefined || !Number.isFinite(balance)) return null;
  return { balance, currency: typeof b.currency === 'string' ? b.currency : null };
}
