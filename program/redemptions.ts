/**
 * Redemption figures, from the redemption rows and their timelines (`redemption_steps`): how many
 * in each status, how fast they come, how they end, how long delivery takes and the SLA.
 */
import { redemptionStatuses, type RedemptionStatus } from '../domain/redemption';
import { slaOpenStatuses } from '../domain/redemption-ops';
import type { Db } from '../infra/db';
import type { Window } from './window';

const hourMs = 3_600_000;

export interface Velocity {
  /** Redemptions asked for in the last period (hour or day) up to `asOf`. */
  current: number;
  /** ...and in the period before it. */
  previous: number;
  /** (current - previous) / previous; null when previous is 0. */
  trend: number | null;
}

export interface RedemptionFigures {
  byStatus: Record<RedemptionStatus, number>;
  velocity: { perHour: Velocity; perDay: Velocity };
  /** In the window: asked for, delivered (or issued), failed, cancelled, lost. */
  requested: number;
  delivered: number;
  failed: number;
  cancelled: number;
  lost: number;
  /** Failures in the window by failure type, most first. */
  failureReasons: { reason: string; count: number }[];
  /** Cancellations in the window by reason, most first (the ten commonest). */
  cancellationReasons: { reason: string; count: number }[];
  /** From asking to delivery (or issue), for redemptions delivered in the window, in seconds. */
  timeToDelivery: { count: number; p50Seconds: number | null; p90Seconds: number | null };
  sla: {
    /** SLA breaches recorded in the window. */
    breaches: number;
    /** Shipped, not delivered, and shipped longer ago than the programme's delivery SLA. */
    openPastSla: number;
  };
}

const velocity = (current: number, previous: number): Velocity => ({
  current,
  previous,
  trend: previous === 0 ? null : (current - previous) / previous,
});

/**
 * Redemptions in each status now (every status listed, 0 included), from the exact rollup
 * (migration 20261204100200) plus the changes not compacted yet.
 */
export async function redemptionsByStatus(db: Db): Promise<Record<RedemptionStatus, number>> {
  const { rows } = await db.raw<{ rows: { status: RedemptionStatus; n: number }[] }>(
    `SELECT status, sum(redemptions)::bigint AS n FROM (SELECT * FROM redemption_counts
       UNION ALL SELECT * FROM redemption_counts_changes) c GROUP BY status`,
  );
  const counts = Object.fromEntries(redemptionStatuses.map((s) => [s, 0])) as Record<
    RedemptionStatus,
    number
  >;
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

/**
 * Waiting for delivery past the SLA: the same clock as the queue's (`slaOpenStatuses`): from the
 * request until the parcel ships, then from shipping. A redemption's `updated_at` is when its
 * status last changed (`recordStep`), so for one still `shipped` it is when it shipped; one that
 * has not shipped yet counts from its request (index `status, created_at`).
 */
export async function openPastSla(db: Db, asOf: Date, deliverySlaMs: number): Promise<number> {
  const beforeShipping = slaOpenStatuses.filter((status) => status !== 'shipped');
  const { rows } = await db.raw<{ rows: { n: number }[] }>(
    `SELECT (SELECT count(*) FROM redemptions WHERE status = 'shipped' AND updated_at < :cut)
       + (SELECT count(*) FROM redemptions WHERE status = ANY(:before) AND created_at < :cut)
       AS n`,
    { cut: new Date(asOf.getTime() - deliverySlaMs), before: beforeShipping },
  );
  return Number(rows[0]!.n);
}

export async function redemptionFigures(
  db: Db,
  window: Window,
  asOf: Date,
  deliverySlaMs: number,
): Promise<RedemptionFigures> {
  const at = (hoursAgo: number) => new Date(asOf.getTime() - hoursAgo * hourMs);
  const range = { from: window.from, to: window.to };
  const [byStatus, pace, steps, reasons, delivery, pastSla] = await Promise.all([
    redemptionsByStatus(db),
    db.raw<{ rows: { h: number; ph: number; d: number; pd: number; w: number }[] }>(
      `SELECT count(*) FILTER (WHERE created_at >= :h1 AND created_at < :now)::bigint AS h,
         count(*) FILTER (WHERE created_at >= :h2 AND created_at < :h1)::bigint AS ph,
         count(*) FILTER (WHERE created_at >= :d1 AND created_at < :now)::bigint AS d,
         count(*) FILTER (WHERE created_at < :d1)::bigint AS pd,
         (SELECT count(*) FROM redemptions WHERE created_at >= :from AND created_at < :to)::bigint AS w
       FROM redemptions WHERE created_at >= :d2 AND created_at < :now`,
      { h1: at(1), h2: at(2), d1: at(24), d2: at(48), now: asOf, ...range },
    ),
    db.raw<{ rows: { step: string; n: number }[] }>(
      `SELECT step, count(DISTINCT redemption_id)::bigint AS n FROM redemption_steps
       WHERE step IN ('delivered', 'issued', 'failed', 'cancelled', 'lost', 'sla_breached')
         AND at >= :from AND at < :to GROUP BY step`,
      range,
    ),
    // A cancel's reason is `cancelled by <role>:<key name>: <what ops typed>`: grouped by the
    // last part (`\\?` is a literal `?` to knex: the lazy quantifier).
    db.raw<{ rows: { step: string; reason: string; n: number }[] }>(
      `SELECT step, reason, n FROM (
         SELECT step, reason, count(*)::bigint AS n,
           row_number() OVER (PARTITION BY step ORDER BY count(*) DESC, reason) AS rank
         FROM (SELECT step, coalesce(CASE WHEN step = 'failed' THEN detail->>'failureType'
                 ELSE regexp_replace(detail->>'reason', '^cancelled by \\S+\\?:.+\\?: ', '')
                 END, 'unknown') AS reason
               FROM redemption_steps WHERE step IN ('failed', 'cancelled')
                 AND at >= :from AND at < :to) s
         GROUP BY step, reason) ranked
       WHERE rank <= 10 ORDER BY step, n DESC, reason`,
      range,
    ),
    db.raw<{ rows: { n: number; p50: number | null; p90: number | null }[] }>(
      `SELECT count(*)::bigint AS n,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS p50,
         percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) AS p90
       FROM (SELECT extract(epoch FROM min(s.at) - r.created_at)::float8 AS seconds
             FROM redemption_steps s JOIN redemptions r ON r.id = s.redemption_id
             WHERE s.step IN ('delivered', 'issued') AND s.at >= :from AND s.at < :to
             GROUP BY r.id, r.created_at) d`,
      range,
    ),
    openPastSla(db, asOf, deliverySlaMs),
  ]);
  const p = pace.rows[0]!;
  const step = (name: string) => steps.rows.find((r) => r.step === name)?.n ?? 0;
  const reasonsOf = (name: string) =>
    reasons.rows.filter((r) => r.step === name).map((r) => ({ reason: r.reason, count: r.n }));
  const d = delivery.rows[0]!;
  return {
    byStatus,
    velocity: { perHour: velocity(p.h, p.ph), perDay: velocity(p.d, p.pd) },
    requested: p.w,
    delivered: step('delivered') + step('issued'),
    failed: step('failed'),
    cancelled: step('cancelled'),
    lost: step('lost'),
    failureReasons: reasonsOf('failed'),
    cancellationReasons: reasonsOf('cancelled'),
    timeToDelivery: { count: d.n, p50Seconds: d.p50, p90Seconds: d.p90 },
    sla: { breaches: step('sla_breached'), openPastSla: pastSla },
  };
}
