/**
 * Programme-health figures computed again, independently: plain SQL over the ledger entries and
 * the records (never the rollups), the arithmetic in TypeScript. The test compares these to what
 * the API answers.
 */
import type { Db } from '../../infra/db';

const q = async <T>(db: Db, sql: string, bindings: unknown[] = []): Promise<T[]> =>
  (await db.raw<{ rows: T[] }>(sql, bindings as never)).rows;

export interface Expected {
  members: { status: string; tier: string; n: number }[];
  enrolled: number;
  outstanding: { available: number; pending: number; held: number; debt: number };
  /** The same, from the balances on the member rows (the ledger's projection). */
  memberBalances: { available: number; pending: number; held: number; debt: number };
  window: Flows;
  allTime: Flows;
  adjustedCredit: number;
  adjustedDebit: number;
  byStatus: Record<string, number>;
  velocity: { h: number; ph: number; d: number; pd: number };
  requested: number;
  steps: Record<string, number>;
  failureReasons: { reason: string; count: number }[];
  cancellationReasons: { reason: string; count: number }[];
  deliverySeconds: number[];
  openPastSla: number;
  cost: { currency: string; n: number; value: number; shipped: number }[];
  floats: { provider: string; balance: number; issued: number; low: boolean }[];
  lowStock: string[];
  webhooks: { failing: string[]; disabled: number };
}

export interface Flows {
  issued: number;
  redeemed: number;
  expired: number;
  reversed: number;
  adjusted: number;
  manual: number;
  serviceRecovery: number;
  refunds: number;
  serviceRecoveryCredits: number;
}

async function flows(db: Db, where: string, bindings: unknown[]): Promise<Flows> {
  const rows = await q<{ kind: string; key: string; amount: number; n: number }>(
    db,
    `SELECT kind, dedupe_key AS key, amount, 1 AS n FROM ledger_entries WHERE ${where}`,
    bindings,
  );
  const sum = (pick: (r: (typeof rows)[number]) => boolean) =>
    rows.filter(pick).reduce((s, r) => s + r.amount, 0);
  const adj = (r: { kind: string }) => r.kind === 'adjustment';
  const sla = (r: { key: string }) => r.key.startsWith('adjustment:sla:');
  const refund = (r: { key: string }) => r.key.startsWith('adjustment:refund:');
  return {
    issued: sum((r) => r.kind === 'accrual'),
    redeemed: -sum((r) => r.kind === 'redemption'),
    expired: -sum((r) => r.kind === 'expiry'),
    reversed: -sum((r) => r.kind === 'reversal'),
    adjusted: sum(adj),
    manual: sum((r) => adj(r) && !sla(r) && !refund(r)),
    serviceRecovery: sum((r) => adj(r) && sla(r)),
    refunds: sum((r) => adj(r) && refund(r)),
    serviceRecoveryCredits: rows.filter((r) => adj(r) && sla(r)).length,
  };
}

export async function expectedFigures(
  db: Db,
  window: { from: Date; to: Date },
  asOf: Date,
  slaMs: number,
  burnDays: number,
): Promise<Expected> {
  const w = [window.from, window.to];
  const hour = 3_600_000;
  const ago = (h: number) => new Date(asOf.getTime() - h * hour);
  const [sums] = await q<Expected['outstanding']>(
    db,
    `SELECT coalesce(sum(available_delta), 0)::bigint AS available,
       coalesce(sum(pending_delta), 0)::bigint AS pending,
       coalesce(sum(held_delta), 0)::bigint AS held, coalesce(sum(debt_delta), 0)::bigint AS debt
     FROM ledger_entries`,
  );
  const [balances] = await q<Expected['memberBalances']>(
    db,
    `SELECT sum(available)::bigint AS available, sum(pending)::bigint AS pending,
       sum(held)::bigint AS held, sum(debt)::bigint AS debt FROM members`,
  );
  const [adjusted] = await q<{ credit: number; debit: number }>(
    db,
    `SELECT coalesce(sum(amount) FILTER (WHERE amount > 0), 0)::bigint AS credit,
       coalesce(-sum(amount) FILTER (WHERE amount < 0), 0)::bigint AS debit
     FROM ledger_entries WHERE kind = 'adjustment'`,
  );
  const created = await q<{ created_at: Date }>(db, 'SELECT created_at FROM redemptions');
  const between = (at: Date, from: Date, to: Date) => at >= from && at < to;
  const count = (from: Date, to: Date) =>
    created.filter((r) => between(r.created_at, from, to)).length;
  const steps = await q<{ id: string; step: string; at: Date; detail: Record<string, string> }>(
    db,
    `SELECT redemption_id AS id, step, at, detail FROM redemption_steps WHERE at >= ? AND at < ?`,
    w,
  );
  const distinct = (names: string[]) =>
    new Set(steps.filter((s) => names.includes(s.step)).map((s) => s.id)).size;
  const reasons = (step: string, key: string) => {
    const counts = new Map<string, number>();
    for (const s of steps.filter((s) => s.step === step)) {
      // A cancel through the API records `cancelled by <role>:<key name>: <what ops typed>`.
      const reason = s.detail[key]?.replace(/^cancelled by \S+?:.+?: /, '') ?? 'unknown';
      counts.set(reason, (counts.get(reason) ?? 0) + 1);
    }
    return [...counts]
      .map(([reason, n]) => ({ reason, count: n }))
      .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1))
      .slice(0, 10);
  };
  const delivered = await q<{ seconds: number }>(
    db,
    `SELECT extract(epoch FROM min(s.at) - r.created_at)::float8 AS seconds
     FROM redemption_steps s JOIN redemptions r ON r.id = s.redemption_id
     WHERE s.step IN ('delivered', 'issued') AND s.at >= ? AND s.at < ? GROUP BY r.id`,
    w,
  );
  const fulfilled = new Map<string, string>();
  for (const s of [...steps].sort((a, b) => +a.at - +b.at)) {
    if ((s.step === 'shipped' || s.step === 'issued') && !fulfilled.has(s.id))
      fulfilled.set(s.id, s.step);
  }
  const sent = await q<{ id: string; currency: string; value: number }>(
    db,
    `SELECT r.id, w.currency, (w.cash_value * r.quantity)::float8 AS value FROM redemptions r
     LEFT JOIN stock_reservations sr ON sr.redemption_id = r.id
     JOIN rewards w ON w.id = coalesce(sr.sku, r.reward_id) WHERE r.id = ANY(?)`,
    [[...fulfilled.keys()]],
  );
  const cost = new Map<string, Expected['cost'][number]>();
  for (const r of sent) {
    const c = cost.get(r.currency) ?? { currency: r.currency, n: 0, value: 0, shipped: 0 };
    c.n += 1;
    c.value += r.value;
    if (fulfilled.get(r.id) === 'shipped') c.shipped += 1;
    cost.set(r.currency, c);
  }
  const floats = await q<Expected['floats'][number]>(
    db,
    `SELECT f.provider, f.balance::float8 AS balance, f.low_since IS NOT NULL AS low,
       coalesce((SELECT sum(denomination) FROM gift_cards g WHERE g.provider = f.provider
         AND g.issued_at >= ? AND g.issued_at < ?), 0)::float8 AS issued
     FROM giftcard_floats f ORDER BY f.provider`,
    [new Date(asOf.getTime() - burnDays * 86_400_000), asOf],
  );
  const subscriptions = await q<{ id: string; status: string; retrying: boolean }>(
    db,
    `SELECT s.id, s.status, EXISTS (SELECT 1 FROM webhook_deliveries d WHERE
       d.subscription_id = s.id AND d.status = 'pending' AND d.attempts >= 1) AS retrying
     FROM webhook_subscriptions s`,
  );
  const statusRows = await q<{ status: string; n: number }>(
    db,
    'SELECT status, count(*)::int AS n FROM redemptions GROUP BY status',
  );
  return {
    members: await q(
      db,
      'SELECT status, tier, count(*)::int AS n FROM members GROUP BY 1, 2 ORDER BY 1, 2',
    ),
    enrolled: (
      await q<{ n: number }>(
        db,
        'SELECT count(*)::int AS n FROM members WHERE enrolled_at >= ? AND enrolled_at < ?',
        w,
      )
    )[0]!.n,
    outstanding: sums!,
    memberBalances: balances!,
    window: await flows(db, 'created_at >= ? AND created_at < ?', w),
    allTime: await flows(db, 'true', []),
    adjustedCredit: adjusted!.credit,
    adjustedDebit: adjusted!.debit,
    byStatus: Object.fromEntries(statusRows.map((r) => [r.status, r.n])),
    velocity: {
      h: count(ago(1), asOf),
      ph: count(ago(2), ago(1)),
      d: count(ago(24), asOf),
      pd: count(ago(48), ago(24)),
    },
    requested: count(window.from, window.to),
    steps: Object.fromEntries(
      ['failed', 'cancelled', 'lost', 'sla_breached'].map((s) => [s, distinct([s])]),
    ),
    failureReasons: reasons('failed', 'failureType'),
    cancellationReasons: reasons('cancelled', 'reason'),
    deliverySeconds: delivered.map((d) => d.seconds).sort((a, b) => a - b),
    openPastSla: (
      await q<{ n: number }>(
        db,
        // Waiting for delivery: since shipping once shipped, else since the request.
        `SELECT count(*)::int AS n FROM redemptions r
         WHERE r.status IN ('requested', 'points_held', 'in_review', 'substitution_pending',
                            'backordered', 'stock_reserved', 'shipment_requested', 'shipped')
           AND coalesce((SELECT min(at) FROM redemption_steps s
                         WHERE s.redemption_id = r.id AND s.step = 'shipped'), r.created_at) < ?`,
        [new Date(asOf.getTime() - slaMs)],
      )
    )[0]!.n,
    cost: [...cost.values()].sort((a, b) => (a.currency < b.currency ? -1 : 1)),
    floats,
    lowStock: (
      await q<{ sku: string }>(
        db,
        `SELECT i.sku FROM inventory i JOIN rewards w ON w.id = i.sku
         WHERE w.active AND i.on_hand - i.reserved <= i.threshold ORDER BY i.sku`,
      )
    ).map((r) => r.sku),
    webhooks: {
      failing: subscriptions.filter((s) => s.status === 'enabled' && s.retrying).map((s) => s.id),
      disabled: subscriptions.filter((s) => s.status === 'disabled').length,
    },
  };
}

/** Postgres's percentile_cont: linear interpolation between the closest ranks. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}
