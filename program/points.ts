/**
 * Points figures, read from the exact hourly rollup of the ledger (`ledger_hourly` plus the
 * changes not yet compacted into it: see migration 20261204100000). Nothing here counts on its
 * own: every figure is a sum of ledger entries.
 */
import type { Db } from '../infra/db';
import type { Window } from './window';

const sumColumns = 'entries, credited, debited, available, pending, held, debt';

/**
 * The ledger rollup at one level, as of this statement: the compacted rows plus the changes not
 * compacted yet, each with `at`, the start of its hour or UTC day.
 */
export const ledgerRollup = (level: 'hour' | 'day'): string =>
  level === 'hour'
    ? `(SELECT hour AS at, kind, cause, ${sumColumns} FROM ledger_hourly
        UNION ALL SELECT hour, kind, cause, ${sumColumns} FROM ledger_hourly_changes)`
    : `(SELECT day AS at, kind, cause, ${sumColumns} FROM ledger_daily
        UNION ALL SELECT date_trunc('day', hour, 'UTC'), kind, cause, ${sumColumns}
        FROM ledger_hourly_changes)`;

/** Moves committed changes into every rollup (one compaction at a time; others skip). */
export async function compactRollups(db: Db): Promise<void> {
  await db.raw('SELECT program_health_compact(), redemption_counts_compact()');
}

export interface SumsRow {
  kind: string;
  cause: string;
  entries: number;
  credited: number;
  debited: number;
  available: number;
  pending: number;
  held: number;
  debt: number;
}

/** Points that flowed, each a positive number except `adjusted` (net, signed). */
export interface PointFlows {
  /** Earned by events (accruals), pending or not. */
  issued: number;
  /** Spent on redemptions that went ahead. */
  redeemed: number;
  expired: number;
  /** Taken back because a purchase was returned. */
  reversed: number;
  /** Net of every adjustment: manual ones (and imports), service-recovery credits, refunds. */
  adjusted: number;
  adjustments: { manual: number; serviceRecovery: number; refunds: number };
  serviceRecoveryCredits: number;
}

export interface Outstanding {
  available: number;
  pending: number;
  held: number;
  /** available + pending + held: what members could still spend. */
  total: number;
  /** Points members owe (returns after spending), not netted from the total. */
  debt: number;
}

export function flowsOf(rows: SumsRow[]): PointFlows {
  const of = (kind: string, cause?: string) =>
    rows.filter((r) => r.kind === kind && (cause === undefined || r.cause === cause));
  const credited = (rs: SumsRow[]) => rs.reduce((s, r) => s + r.credited, 0);
  const debited = (rs: SumsRow[]) => rs.reduce((s, r) => s + r.debited, 0);
  const net = (rs: SumsRow[]) => credited(rs) - debited(rs);
  return {
    issued: net(of('accrual')),
    redeemed: debited(of('redemption')) - credited(of('redemption')),
    expired: debited(of('expiry')) - credited(of('expiry')),
    reversed: debited(of('reversal')) - credited(of('reversal')),
    adjusted: net(of('adjustment')),
    adjustments: {
      manual: net(of('adjustment', 'manual')),
      serviceRecovery: net(of('adjustment', 'service_recovery')),
      refunds: net(of('adjustment', 'refund')),
    },
    serviceRecoveryCredits: of('adjustment', 'service_recovery').reduce((s, r) => s + r.entries, 0),
  };
}

export function outstandingOf(rows: SumsRow[]): Outstanding {
  const sum = (key: 'available' | 'pending' | 'held' | 'debt') =>
    rows.reduce((s, r) => s + r[key], 0);
  const [available, pending, held] = [sum('available'), sum('pending'), sum('held')];
  return { available, pending, held, total: available + pending + held, debt: sum('debt') };
}

const summed = sumColumns
  .split(', ')
  .map((c) => `sum(${c})::bigint AS ${c}`)
  .join(', ');

/** Whole UTC days inside an hour-aligned window, and the hours at its two edges. */
function split(window: Window): { dayFrom: Date; dayTo: Date } {
  const day = 86_400_000;
  const dayFrom = new Date(Math.ceil(window.from.getTime() / day) * day);
  const dayTo = new Date(Math.floor(window.to.getTime() / day) * day);
  return dayFrom < dayTo ? { dayFrom, dayTo } : { dayFrom: window.to, dayTo: window.to };
}

/** All-time sums and the window's, by kind and cause: days from the daily level, edges hourly. */
export async function ledgerSums(
  db: Db,
  window: Window,
): Promise<{ allTime: SumsRow[]; window: SumsRow[] }> {
  const [allTime, inWindow] = await Promise.all([
    db.raw<{ rows: SumsRow[] }>(
      `SELECT kind, cause, ${summed} FROM ${ledgerRollup('day')} r GROUP BY kind, cause`,
    ),
    db.raw<{ rows: SumsRow[] }>(
      `SELECT kind, cause, ${summed} FROM (
         SELECT * FROM ${ledgerRollup('day')} d WHERE at >= :dayFrom AND at < :dayTo
         UNION ALL
         SELECT * FROM ${ledgerRollup('hour')} h
         WHERE (at >= :from AND at < :dayFrom) OR (at >= :dayTo AND at < :to)) r
       GROUP BY kind, cause`,
      { from: window.from, to: window.to, ...split(window) },
    ),
  ]);
  return { allTime: allTime.rows, window: inWindow.rows };
}

/** Rates over a window: null when nothing was issued in it. */
export function ratesOf(flows: PointFlows): {
  breakageRate: number | null;
  redemptionRate: number | null;
} {
  if (flows.issued <= 0) return { breakageRate: null, redemptionRate: null };
  return {
    breakageRate: flows.expired / flows.issued,
    redemptionRate: flows.redeemed / flows.issued,
  };
}

/** The points liability in money, for each currency a cost per point is configured in. */
export function liabilityOf(
  outstanding: Outstanding,
  costPerPoint: Record<string, number>,
): { currency: string; costPerPoint: number; amount: number }[] {
  return Object.entries(costPerPoint).map(([currency, cost]) => ({
    currency,
    costPerPoint: cost,
    amount: Math.round(outstanding.total * cost * 100) / 100,
  }));
}
