/**
 * The programme's business gauges on `/metrics`, read at scrape time from the same queries as
 * `GET /program/health` (the exact rollups and the records), never from counters kept in memory.
 * One reading serves every gauge of a scrape and is reused for `cacheMs` (several API processes
 * or a fast scraper do not multiply the work). The database down: the gauges are left out.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { ms } from '../domain/program';
import type { Db } from '../infra/db';
import { loadRuleSet } from '../ledger/programs';
import { frozenCounts } from '../ledger/frozen';
import { memberCounts } from '../program/members';
import { giftCardFloats, lowStock, webhookFigures } from '../program/operations';
import { compactRollups, flowsOf, ledgerSums, liabilityOf, outstandingOf } from '../program/points';
import { openPastSla, redemptionsByStatus } from '../program/redemptions';
import { budgetReport } from '../budgets/report';
import { reviewCounts } from '../program/reviews';

export interface ProgramMetricsDeps {
  db: Db;
  pointCost: Record<string, number>;
  floatBurnDays: number;
  cacheMs: number;
}

async function read(deps: ProgramMetricsDeps) {
  const { db } = deps;
  const now = new Date();
  await compactRollups(db);
  // Programme-wide figures: the general version's policy (a soft launch's cohort aside).
  const { program } = await loadRuleSet(db);
  const [members, sums, redemptions, pastSla, floats, stock, webhooks, budgets, reviews] =
    await Promise.all([
      memberCounts(db),
      ledgerSums(db, { from: now, to: now }),
      redemptionsByStatus(db),
      openPastSla(db, now, ms(program.redemption.deliverySla)),
      giftCardFloats(db, now, deps.floatBurnDays),
      lowStock(db),
      webhookFigures(db),
      budgetReport(db, now),
      reviewCounts(db),
    ]);
  const outstanding = outstandingOf(sums.allTime);
  return {
    members,
    outstanding,
    liability: liabilityOf(outstanding, deps.pointCost),
    flows: flowsOf(sums.allTime),
    adjusted: {
      credit: sums.allTime
        .filter((r) => r.kind === 'adjustment')
        .reduce((s, r) => s + r.credited, 0),
      debit: sums.allTime.filter((r) => r.kind === 'adjustment').reduce((s, r) => s + r.debited, 0),
    },
    redemptions,
    pastSla,
    floats,
    lowStock: stock.length,
    webhooks,
    budgets: budgets.budgets,
    reviews,
  };
}

type Reading = Awaited<ReturnType<typeof read>>;

export function registerProgramMetrics(registry: Registry, deps: ProgramMetricsDeps): void {
  // One reading per scrape (the gauges are collected together, so they share the one in flight),
  // then reused for `cacheMs` after it answered.
  let cached: { reading: Promise<Reading | null>; answeredAt: number | null } | null = null;
  const reading = (): Promise<Reading | null> => {
    const fresh =
      cached && (cached.answeredAt === null || Date.now() - cached.answeredAt < deps.cacheMs);
    if (!fresh) {
      const entry: { reading: Promise<Reading | null>; answeredAt: number | null } = {
        reading: read(deps)
          .catch(() => null)
          .finally(() => (entry.answeredAt = Date.now())),
        answeredAt: null,
      };
      cached = entry;
    }
    return cached!.reading;
  };

  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (set: (labels: Record<L, string>, value: number) => void, r: Reading) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        const r = await reading();
        if (r) fill((labels, value) => this.set(labels, value), r);
      },
    });

  gauge('loyalty_members', 'Members by status and tier.', ['status', 'tier'], (set, r) => {
    for (const row of r.members) set({ status: row.status, tier: row.tier }, row.members);
  });
  gauge(
    'loyalty_points_outstanding',
    'Points members hold, by state (available, pending, held), from the ledger.',
    ['state'],
    (set, r) => {
      for (const state of ['available', 'pending', 'held'] as const)
        set({ state }, r.outstanding[state]);
    },
  );
  gauge(
    'loyalty_liability',
    'Outstanding points (available + pending + held) valued at the configured cost per point (POINT_COST).',
    ['currency'],
    (set, r) => {
      for (const l of r.liability) set({ currency: l.currency }, l.amount);
    },
  );
  gauge('loyalty_redemptions', 'Redemptions by status.', ['status'], (set, r) => {
    for (const [status, n] of Object.entries(r.redemptions)) set({ status }, n);
  });
  gauge(
    'loyalty_redemptions_past_sla',
    'Redemptions shipped and not delivered for longer than the delivery SLA.',
    [],
    (set, r) => set({}, r.pastSla),
  );
  gauge(
    'loyalty_giftcard_float_days_left',
    "Days each gift-card provider's float lasts at the burn rate of the last FLOAT_BURN_DAYS days (absent: nothing issued).",
    ['provider'],
    (set, r) => {
      for (const f of r.floats) if (f.daysLeft !== null) set({ provider: f.provider }, f.daysLeft);
    },
  );
  gauge(
    'loyalty_rewards_low_stock',
    'Active rewards whose available stock is at or under their threshold.',
    [],
    (set, r) => set({}, r.lowStock),
  );
  gauge(
    'loyalty_webhook_subscriptions',
    'Webhook subscriptions in trouble: failing (enabled, a delivery retrying) or disabled.',
    ['state'],
    (set, r) => {
      set({ state: 'failing' }, r.webhooks.failing);
      set({ state: 'disabled' }, r.webhooks.disabled);
    },
  );

  gauge(
    'loyalty_budget_usage_ratio',
    'Each programme budget: used / limit in its current period (1 = used up; GET /program/budgets).',
    ['budget', 'period'],
    (set, r) => {
      for (const b of r.budgets) set({ budget: b.budget, period: b.period.id }, b.used / b.limit);
    },
  );

  // All-time sums of the ledger, which only grow (entries are never removed): counters, set from
  // the database at each scrape. Adjustments go both ways, so they are two counters by direction.
  const counters = {
    loyalty_points_issued_total: ['Points earned by events, all time.', 'issued'],
    loyalty_points_redeemed_total: ['Points spent on redemptions, all time.', 'redeemed'],
    loyalty_points_expired_total: ['Points expired, all time.', 'expired'],
  } as const;
  for (const [name, [help, key]] of Object.entries(counters)) {
    new Counter({
      name,
      help,
      registers: [registry],
      async collect() {
        this.reset();
        const r = await reading();
        if (r) this.inc(r.flows[key]);
      },
    });
  }
  // Findings are never removed, so the count by detector is a counter, read at each scrape (any
  // process may record one: the worker screening a redemption, the API).
  new Counter({
    name: 'loyalty_anomaly_findings_total',
    help: 'Anomaly findings recorded (guardrails/), all time, by detector.',
    labelNames: ['detector'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await deps
        .db('anomaly_findings')
        .select('detector')
        .count<{ detector: string; n: number }[]>({ n: '*' })
        .groupBy('detector')
        .catch(() => null);
      for (const r of rows ?? []) this.inc({ detector: r.detector }, Number(r.n));
    },
  });
  // A redemption whose shipment went unconfirmed and has ended in nothing since: its workflow is
  // asking the warehouse to drop it, retrying until the warehouse answers (points and stock held).
  new Gauge({
    name: 'loyalty_redemptions_undoing',
    help: 'Redemptions waiting on an undo call retried until the partner answers (shipment unconfirmed), by how long: all, and over 15 minutes.',
    labelNames: ['age'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const { rows } = await deps.db
        .raw<{ rows: { n: number; old: number }[] }>(
          `SELECT count(*)::int AS n,
             count(*) FILTER (WHERE s.at < now() - interval '15 minutes')::int AS old
           FROM redemption_steps s JOIN redemptions r ON r.id = s.redemption_id
           WHERE s.step = 'shipment_unconfirmed'
             AND r.status NOT IN ('completed', 'refunded', 'failed', 'cancelled', 'lost')
             AND NOT EXISTS (SELECT 1 FROM redemption_steps later
               WHERE later.redemption_id = s.redemption_id AND later.seq > s.seq)`,
        )
        .catch(() => ({ rows: [] }));
      const row = rows[0];
      if (!row) return;
      this.set({ age: 'all' }, row.n);
      this.set({ age: 'over_15m' }, row.old);
    },
  });
  // Recorded by the API on the warehouse's callback (redemptions/late-delivery.ts), never removed.
  new Counter({
    name: 'loyalty_redemption_delivered_after_lost_total',
    help: 'Parcels the warehouse delivered after their redemption ended lost (points given back), all time.',
    registers: [registry],
    async collect() {
      this.reset();
      const row = await deps
        .db('redemption_steps')
        .where({ step: 'delivered_after_lost' })
        .count<{ n: number }[]>({ n: '*' })
        .first()
        .catch(() => null);
      if (row) this.inc(Number(row.n));
    },
  });
  new Counter({
    name: 'loyalty_frozen_points_total',
    help: 'Flagged accruals frozen for review, all time, by event: frozen, released, voided.',
    labelNames: ['event'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const counts = await frozenCounts(deps.db).catch(() => null);
      for (const [event, n] of Object.entries(counts ?? {})) this.inc({ event }, n);
    },
  });
  new Counter({
    name: 'loyalty_redemption_reviews_total',
    help: 'Redemptions held for review, all time, by event: held, reminded, approved, rejected.',
    labelNames: ['event'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const r = await reading();
      if (!r) return;
      for (const [event, n] of Object.entries(r.reviews) as [string, number][])
        this.inc({ event }, n);
    },
  });
  new Counter({
    name: 'loyalty_points_adjusted_total',
    help: 'Points adjusted (manual, service recovery, refunds, imports), all time, by direction: credit or debit.',
    labelNames: ['direction'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const r = await reading();
      if (!r) return;
      this.inc({ direction: 'credit' }, r.adjusted.credit);
      this.inc({ direction: 'debit' }, r.adjusted.debit);
    },
  });
}
