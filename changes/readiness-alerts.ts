/**
 * "No critical alert open". With PROMETHEUS_URL set, Prometheus is asked (`/api/v1/alerts`) for
 * alerts firing with `severity: critical` (deploy/prometheus/alerts.yml). Without it, the same
 * critical conditions are evaluated from our own figures, and the detail says so; the list below
 * is checked against alerts.yml by test/readiness.test.ts, so the two cannot drift apart.
 */
import { giftCardFloats } from '../program/operations';
import type { CheckResult, ReadinessDeps } from './readiness-common';
import type { PollerFigures } from './readiness-checks';

/** The critical alerts of deploy/prometheus/alerts.yml, evaluated here when Prometheus is not. */
export const criticalAlerts = ['LoyaltyGiftCardFloatRunningOut', 'LoyaltyNoWorkerPolling'] as const;

/** Days of float left under which LoyaltyGiftCardFloatRunningOut is critical. */
const criticalFloatDays = 2;

async function prometheusGet(baseUrl: string, path: string): Promise<unknown> {
  const response = await fetch(new URL(path, baseUrl), {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(5000),
  }).catch((err: Error & { cause?: { code?: string } }) => {
    const why = err.name === 'TimeoutError' ? 'no answer in 5 s' : (err.cause?.code ?? err.message);
    throw new Error(`Prometheus at ${baseUrl} did not answer: ${why}`);
  });
  const body = (await response.json().catch(() => null)) as {
    status?: string;
    data?: unknown;
    error?: string;
  } | null;
  if (!response.ok || body?.status !== 'success') {
    throw new Error(`Prometheus ${path} answered ${response.status}: ${body?.error ?? 'no data'}`);
  }
  return body.data;
}

/** One instant query's value (summed to one series by the expression); null when empty. */
export async function promQuery(baseUrl: string, expr: string): Promise<number | null> {
  const data = (await prometheusGet(
    baseUrl,
    `/api/v1/query?query=${encodeURIComponent(expr)}`,
  )) as { result?: { value?: [number, string] }[] };
  const value = data.result?.[0]?.value?.[1];
  return value === undefined ? null : Number(value);
}

interface PromAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  state: string;
  activeAt?: string;
}

async function fromPrometheus(baseUrl: string): Promise<CheckResult> {
  const data = (await prometheusGet(baseUrl, '/api/v1/alerts')) as { alerts?: PromAlert[] };
  const firing = (data.alerts ?? []).filter(
    (a) => a.state === 'firing' && a.labels.severity === 'critical',
  );
  const observed = {
    source: 'prometheus',
    firing: firing.map((a) => ({
      alert: a.labels.alertname,
      labels: a.labels,
      summary: a.annotations?.summary ?? null,
      activeAt: a.activeAt ?? null,
    })),
  };
  if (firing.length === 0) {
    return {
      name: 'alerts',
      ok: true,
      detail: 'Prometheus has no critical alert firing',
      observed,
    };
  }
  const words = firing.map(
    (a) => `${a.labels.alertname}${a.annotations?.summary ? ` (${a.annotations.summary})` : ''}`,
  );
  return {
    name: 'alerts',
    ok: false,
    detail: `critical alerts firing in Prometheus: ${words.join('; ')}`,
    observed,
  };
}

async function fromOwnFigures(
  deps: ReadinessDeps,
  pollers: Promise<PollerFigures>,
): Promise<CheckResult> {
  const [floats, polling] = await Promise.all([
    giftCardFloats(deps.db, new Date(), deps.config.FLOAT_BURN_DAYS),
    pollers.catch((err: Error) => err),
  ]);
  const open: string[] = [];
  for (const f of floats) {
    if (f.daysLeft !== null && f.daysLeft < criticalFloatDays) {
      open.push(`LoyaltyGiftCardFloatRunningOut (${f.provider}'s float lasts ${f.daysLeft} days)`);
    }
  }
  if (polling instanceof Error) {
    open.push(`LoyaltyNoWorkerPolling (the task queue cannot be described: ${polling.message})`);
  } else if (polling.workflowPollers === 0 || polling.activityPollers === 0) {
    open.push(`LoyaltyNoWorkerPolling (no worker polls ${polling.taskQueue})`);
  }
  const observed = {
    source: 'own-figures',
    evaluated: criticalAlerts,
    firing: open,
    floats: floats.map((f) => ({ provider: f.provider, daysLeft: f.daysLeft })),
    pollers: polling instanceof Error ? null : polling,
  };
  const how = `PROMETHEUS_URL is not set: evaluated the critical alerts (${criticalAlerts.join(', ')}) from our own figures`;
  return open.length === 0
    ? { name: 'alerts', ok: true, detail: `${how}; none would fire`, observed }
    : { name: 'alerts', ok: false, detail: `${how}: ${open.join('; ')}`, observed };
}

export function alertsCheck(
  deps: ReadinessDeps,
  pollers: Promise<PollerFigures>,
): Promise<CheckResult> {
  const prometheus = deps.config.PROMETHEUS_URL;
  if (!prometheus) return fromOwnFigures(deps, pollers);
  return fromPrometheus(prometheus).catch(async (err: Error) => {
    const own = await fromOwnFigures(deps, pollers);
    const detail = own.detail.replace(
      /^PROMETHEUS_URL is not set/,
      `Prometheus could not be asked (${err.message})`,
    );
    return { ...own, detail };
  });
}
