/**
 * Readiness of the programme's own records: the featured rewards' stock, and the webhook
 * subscriptions (none failing, none disabled because its deliveries failed).
 */
import type { Db } from '../infra/db';
import type { CheckResult } from './readiness-common';

interface FeaturedRow {
  id: string;
  kind: string | null;
  active: boolean | null;
  available: number | null;
  threshold: number | null;
  codes: number;
}

/**
 * Each featured reward above its threshold: a physical reward's available stock above `minStock`
 * (default: its own replenish threshold), a coupon's pool of codes above `minStock` (default 0).
 * A gift card has no stock (the float check covers it); an unknown or inactive reward fails.
 */
export async function stockCheck(
  db: Db,
  featured: string[],
  minStock: number | undefined,
): Promise<CheckResult> {
  if (featured.length === 0) {
    return { name: 'stock', ok: true, detail: 'the plan features no rewards', observed: [] };
  }
  const { rows } = await db.raw<{ rows: FeaturedRow[] }>(
    `SELECT f.id, w.kind, w.active, i.available, i.threshold,
       (SELECT count(*) FROM coupon_codes c WHERE c.reward_id = f.id
          AND c.redemption_id IS NULL)::int AS codes
     FROM unnest(:featured::text[]) WITH ORDINALITY AS f(id, n)
     LEFT JOIN rewards w ON w.id = f.id LEFT JOIN inventory i ON i.sku = f.id
     ORDER BY f.n`,
    { featured },
  );
  const observed = rows.map((row) => {
    const base = { rewardId: row.id, kind: row.kind };
    if (row.kind === null) return { ...base, ok: false, why: 'no such reward' };
    if (!row.active) return { ...base, ok: false, why: 'the reward is not active' };
    if (row.kind === 'gift_card') return { ...base, ok: true, why: 'a gift card: no stock' };
    const [stock, min, unit] =
      row.kind === 'coupon'
        ? [row.codes, minStock ?? 0, 'codes left']
        : [row.available ?? 0, minStock ?? row.threshold ?? 0, 'available'];
    const ok = stock > min;
    return {
      ...base,
      stock,
      min,
      ok,
      why: `${stock} ${unit}, ${ok ? 'above' : 'not above'} ${min}`,
    };
  });
  const short = observed.filter((o) => !o.ok);
  return {
    name: 'stock',
    ok: short.length === 0,
    detail:
      short.length === 0
        ? `every featured reward above threshold: ${observed.map((o) => `${o.rewardId} (${o.why})`).join('; ')}`
        : `featured rewards short: ${short.map((o) => `${o.rewardId} (${o.why})`).join('; ')}`,
    observed,
  };
}

interface SubscriptionRow {
  id: string;
  url: string;
  status: string;
  disabled_reason: string | null;
  retrying: number;
  last_error: string | null;
  last_status_code: number | null;
}

/** By its owner: a choice, not a fault (webhooks/subscriptions.ts). */
const disabledByOwner = 'disabled by its owner';

/**
 * Healthy: no enabled subscription with a delivery being retried after a failed attempt (the
 * programme-health `failing` figure), and none disabled because its deliveries failed for good.
 */
export async function webhooksCheck(db: Db): Promise<CheckResult> {
  const { rows } = await db.raw<{ rows: SubscriptionRow[] }>(
    `SELECT s.id, s.url, s.status, s.disabled_reason, d.retrying, d.last_error, d.last_status_code
     FROM webhook_subscriptions s
     LEFT JOIN LATERAL (
       SELECT count(*)::int AS retrying,
         (array_agg(last_error ORDER BY id DESC))[1] AS last_error,
         (array_agg(last_status_code ORDER BY id DESC))[1] AS last_status_code
       FROM webhook_deliveries WHERE subscription_id = s.id AND status = 'pending' AND attempts > 0
     ) d ON true
     WHERE (s.status = 'enabled' AND d.retrying > 0)
        OR (s.status = 'disabled' AND s.disabled_reason IS DISTINCT FROM :byOwner)
     ORDER BY s.created_at, s.id`,
    { byOwner: disabledByOwner },
  );
  const [{ n: total }] = (
    await db.raw<{ rows: { n: number }[] }>(
      `SELECT count(*)::int AS n FROM webhook_subscriptions WHERE status = 'enabled'`,
    )
  ).rows as [{ n: number }];
  const failing = rows.filter((r) => r.status === 'enabled');
  const disabled = rows.filter((r) => r.status === 'disabled');
  const observed = {
    enabled: total,
    failing: failing.map((r) => ({
      id: r.id,
      url: r.url,
      retrying: r.retrying,
      lastStatusCode: r.last_status_code,
      lastError: r.last_error,
    })),
    disabledByFailure: disabled.map((r) => ({ id: r.id, url: r.url, reason: r.disabled_reason })),
  };
  if (rows.length === 0) {
    return {
      name: 'webhooks',
      ok: true,
      detail: `${total} enabled subscriptions, none failing`,
      observed,
    };
  }
  const words = [
    ...failing.map(
      (r) =>
        `${r.url} (${r.id}) failing: ${r.retrying} deliveries being retried, last ${r.last_status_code ?? r.last_error ?? 'no answer'}`,
    ),
    ...disabled.map((r) => `${r.url} (${r.id}) disabled: ${r.disabled_reason ?? 'no reason'}`),
  ];
  return {
    name: 'webhooks',
    ok: false,
    detail: `${rows.length} webhook subscriptions unhealthy: ${words.slice(0, 5).join('; ')}${words.length > 5 ? '; ...' : ''}`,
    observed,
  };
}
