/**
 * Points figures, read from the exact hourly rollup of the ledger (`ledger_hourly` plus the
 * changes not yet compacted into it: see migration 20261204100000). Nothing here counts on its
 * own: every figure is a sum of ledger entries.
 */
import type { Db } from '../infra/db';
import type { Window } from './window';

/** The rollup as of this statement: compacted hours plus the changes not compacted yet. */
export const ledgerRollup = `(SELECT * FROM ledger_hourly UNION ALL SELECT * FROM ledger_hourly_changes)`;

/** Moves committed changes into the rollups (one compaction at a time; others skip). */
export async function compactRollups(db: Db): Promise<void> {
  await db.raw('SELECT program_health_compact()');
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

const columns = ['entries', 'credited', 'debited', 'available', 'pending', 'held', 'debt'] as const;

/** All-time sums and the window's, by kind and cause, in one pass over the rollup. */
export async function ledgerSums(
  db: Db,
  window: Window,
): Promise<{ allTime: SumsRow[]; window: SumsRow[] }> {
  const inWindow = 'hour >= :from AND hour < :to';
  const { rows } = await db.raw<{ rows: Record<string, string | number>[] }>(
    `SELECT kind, cause, ${columns.map((c) => `sum(${c})::bigint AS ${c}`).join(', ')},
       ${columns.map((c) => `coalesce(sum(${c}) FILTER (WHERE ${inWindow}), 0)::bigint AS w_${c}`).join(', ')}
     FROM ${ledgerRollup} r GROUP BY kind, cause`,
    { from: window.from, to: window.to },
  );
  const pick = (row: Record<string, string | number>, prefix: string): SumsRow => ({
    kind: String(row.kind),
    cause: String(row.cause),
    ...(Object.fromEntries(columns.map((c) => [c, Number(row[`${prefix}${c}`])])) as Record<
      (typeof columns)[number],
      number
    >),
  });
  return { allTime: rows.map((r) => pick(r, '')), window: rows.map((r) => pick(r, 'w_')) };
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
