/**
 * Programme-health time series: one figure per bucket (hour, day, week or month, UTC) over an
 * aligned window, every bucket listed (0 where nothing happened). Ledger figures come from the
 * hourly rollup; the others from the records, grouped by when the thing happened.
 */
import type { Db } from '../infra/db';
import { compactRollups, flowsOf, ledgerRollup, ratesOf, type SumsRow } from './points';
import { bucketStarts, nextBucket, type Bucket, type Window } from './window';

type LedgerMetric = (flows: ReturnType<typeof flowsOf>) => number | null;

const ledgerMetrics: Record<string, { unit: string; value: LedgerMetric; help: string }> = {
  points_issued: { unit: 'points', value: (f) => f.issued, help: 'earned by events' },
  points_redeemed: { unit: 'points', value: (f) => f.redeemed, help: 'spent on redemptions' },
  points_expired: { unit: 'points', value: (f) => f.expired, help: 'expired' },
  points_reversed: { unit: 'points', value: (f) => f.reversed, help: 'taken back by returns' },
  points_adjusted: { unit: 'points', value: (f) => f.adjusted, help: 'net of all adjustments' },
  service_recovery_points: {
    unit: 'points',
    value: (f) => f.adjustments.serviceRecovery,
    help: 'credited for missed delivery SLAs',
  },
  breakage_rate: {
    unit: 'ratio',
    value: (f) => ratesOf(f).breakageRate,
    help: 'expired / issued in the bucket',
  },
  redemption_rate: {
    unit: 'ratio',
    value: (f) => ratesOf(f).redemptionRate,
    help: 'redeemed / issued in the bucket',
  },
};

/** Counted from the records: the table, its timestamp column, and which rows. */
const recordMetrics: Record<string, { unit: string; from: string; help: string }> = {
  enrolments: {
    unit: 'members',
    from: `SELECT enrolled_at AS at, id::text AS id FROM members`,
    help: 'members enrolled',
  },
  redemptions_requested: {
    unit: 'redemptions',
    from: `SELECT created_at AS at, id FROM redemptions`,
    help: 'redemptions asked for',
  },
  redemptions_delivered: {
    unit: 'redemptions',
    from: `SELECT at, redemption_id AS id FROM redemption_steps WHERE step IN ('delivered', 'issued')`,
    help: 'delivered, or gift card or code issued',
  },
  redemptions_failed: {
    unit: 'redemptions',
    from: `SELECT at, redemption_id AS id FROM redemption_steps WHERE step = 'failed'`,
    help: 'ended failed',
  },
  redemptions_cancelled: {
    unit: 'redemptions',
    from: `SELECT at, redemption_id AS id FROM redemption_steps WHERE step = 'cancelled'`,
    help: 'ended cancelled',
  },
  sla_breaches: {
    unit: 'redemptions',
    from: `SELECT at, redemption_id AS id FROM redemption_steps WHERE step = 'sla_breached'`,
    help: 'missed their delivery SLA',
  },
};

export const seriesMetrics = [
  ...Object.keys(ledgerMetrics),
  'points_outstanding',
  ...Object.keys(recordMetrics),
] as const;

/** What each metric is, for the API's description. */
export const seriesMetricHelp: Record<string, string> = {
  ...Object.fromEntries(Object.entries(ledgerMetrics).map(([k, m]) => [k, `${m.unit} ${m.help}`])),
  points_outstanding: 'points available + pending + held at the end of the bucket',
  ...Object.fromEntries(Object.entries(recordMetrics).map(([k, m]) => [k, `${m.unit} ${m.help}`])),
};

export interface SeriesPoint {
  start: string;
  end: string;
  value: number | null;
}

export interface Series {
  metric: string;
  unit: string;
  bucket: Bucket;
  from: string;
  to: string;
  points: SeriesPoint[];
}

/** `window` must already be aligned to `bucket` (see `alignWindow`). */
export async function healthSeries(
  db: Db,
  metric: string,
  bucket: Bucket,
  window: Window,
): Promise<Series> {
  const starts = bucketStarts(window, bucket);
  const range = { bucket, from: window.from, to: window.to };
  let unit: string;
  let values: (start: Date) => number | null;
  if (metric in recordMetrics) {
    const m = recordMetrics[metric]!;
    unit = m.unit;
    const { rows } = await db.raw<{ rows: { start: Date; n: number }[] }>(
      `SELECT date_trunc(:bucket, at, 'UTC') AS start, count(DISTINCT id)::bigint AS n
       FROM (${m.from}) r WHERE at >= :from AND at < :to GROUP BY 1`,
      range,
    );
    const byStart = new Map(rows.map((r) => [r.start.getTime(), r.n]));
    values = (start) => byStart.get(start.getTime()) ?? 0;
  } else {
    await compactRollups(db);
    const { rows } = await db.raw<{ rows: (SumsRow & { start: Date | null })[] }>(
      `SELECT CASE WHEN hour >= :from THEN date_trunc(:bucket, hour, 'UTC') END AS start,
         kind, cause, sum(entries)::bigint AS entries, sum(credited)::bigint AS credited,
         sum(debited)::bigint AS debited, sum(available)::bigint AS available,
         sum(pending)::bigint AS pending, sum(held)::bigint AS held, sum(debt)::bigint AS debt
       FROM ${ledgerRollup} r
       WHERE hour < :to ${metric === 'points_outstanding' ? '' : 'AND hour >= :from'}
       GROUP BY 1, 2, 3`,
      range,
    );
    const grouped = new Map<number | null, SumsRow[]>();
    for (const row of rows) {
      const key = row.start?.getTime() ?? null;
      grouped.set(key, [...(grouped.get(key) ?? []), row]);
    }
    const inBucket = (start: Date | null) => grouped.get(start?.getTime() ?? null) ?? [];
    if (metric === 'points_outstanding') {
      unit = 'points';
      const total = (rs: SumsRow[]) => rs.reduce((s, r) => s + r.available + r.pending + r.held, 0);
      let running = total(inBucket(null));
      const closing = new Map<number, number>();
      for (const start of starts) closing.set(start.getTime(), (running += total(inBucket(start))));
      values = (start) => closing.get(start.getTime())!;
    } else {
      const m = ledgerMetrics[metric]!;
      unit = m.unit;
      values = (start) => m.value(flowsOf(inBucket(start)));
    }
  }
  return {
    metric,
    unit,
    bucket,
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    points: starts.map((start) => ({
      start: start.toISOString(),
      end: nextBucket(start, bucket).toISOString(),
      value: values(start),
    })),
  };
}
