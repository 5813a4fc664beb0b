/**
 * Programme health: a programme is seeded through the API and the workflows (accruals, pending
 * points, a purchase return, expiry, adjustments, redemptions that complete, fail, are cancelled,
 * get lost, miss their SLA and are returned, a gift card, low stock, a failing and a disabled
 * webhook subscription). Every figure of the snapshot, the series and `/metrics` is then compared
 * to the same figure computed independently in plain SQL over the ledger and the records (never
 * the rollups). The database is shared with the other test files (run one at a time), so the
 * comparisons are over everything in it, and what this file seeded is checked as the change from
 * a snapshot taken before.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { eventually, startTestContext, type TestContext } from './support/context';
import { expectedFigures, percentile, type Expected } from './support/health-sql';
import { enrol, post, publishProgram, purchase } from './support/ledger';
import { startReceiver, type Receiver } from './support/receiver';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';
import { redemptionStatuses } from '../domain/redemption';
import type { HealthSnapshot } from '../program/health';
import type { Series } from '../program/series';

const slaMs = 3000; // redemptionProgram's deliverySla
const pointCost = { EUR: 0.01, USD: 0.02 };
const shippingCost = { EUR: 4.5 };
const burnDays = 7;
const round = (n: number, places = 2) => Math.round(n * 10 ** places) / 10 ** places;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('programme health', () => {
  let t: TestContext;
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
    receiver.mode = 'down';
    t = await startTestContext(
      'program-health',
      {
        POINT_COST: pointCost,
        SHIPPING_COST: shippingCost,
        FLOAT_BURN_DAYS: burnDays,
        METRICS_CACHE_SECONDS: 0,
        WEBHOOK_RETRY_SCHEDULE: '1h',
        WEBHOOK_POLL_MS: 100,
      },
      { partners: { warehouse: { autoDeliver: false } }, webhooks: true },
    );
  });
  after(async () => {
    await t.stop();
    await receiver.close();
  });

  const health = async (query = ''): Promise<HealthSnapshot> => {
    const res = await t.api('GET', `/program/health${query}`, { key: t.keys.readonly });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as HealthSnapshot;
  };

  /** The API's answer and the SQL's, read when nothing moved in between (retried until so). */
  const settled = async <A>(read: () => Promise<A>, same: (a: A, b: A) => boolean) => {
    for (let i = 0; ; i++) {
      const first = await read();
      const second = await read();
      if (same(first, second)) return first;
      if (i === 20) assert.fail('the figures never held still');
      await sleep(250);
    }
  };
  const expectedFor = (snapshot: Pick<HealthSnapshot, 'window' | 'asOf'>): Promise<Expected> =>
    expectedFigures(
      t.db,
      { from: new Date(snapshot.window.from), to: new Date(snapshot.window.to) },
      new Date(snapshot.asOf),
      slaMs,
      burnDays,
    );
  const noTime = (s: HealthSnapshot) => JSON.stringify({ ...s, asOf: null });

  it('every figure equals independent SQL, and the seeded programme shows as its change', async () => {
    const baseline = await health();

    // Expiry: a lot that lives 2 seconds, then policy back to long lots and pending purchases.
    await publishProgram(t, {
      ...redemptionProgram,
      expiry: { policy: 'fixed', lotLifetime: '2 seconds', reminderBefore: '1 second' },
    });
    const expiring = await enrol(t);
    const bought = await post(t, purchase(expiring, [{ sku: 'lamp', amount: 100 }]));
    assert.equal(bought.body.points.earned, 100, JSON.stringify(bought.body));
    await publishProgram(t, {
      ...redemptionProgram,
      earning: { ...redemptionProgram.earning, pendingPeriod: '1 hour' },
    });
    const adjust = async (memberId: string, points: number) => {
      const res = await t.api('POST', `/members/${memberId}/adjustments`, {
        key: t.keys.ops,
        body: { points, reason: 'health test' },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    };
    await adjust(expiring, 20);
    await sleep(2500);
    await adjust(expiring, -5); // expires the 100 first (if the lifecycle has not already)

    // Pending points, and a purchase return reversing half of them.
    const shopper = await enrol(t);
    const order = purchase(shopper, [{ sku: 'shirt', quantity: 2, amount: 300 }]);
    assert.equal((await post(t, order)).body.points.earned, 300);
    const returned = await post(t, {
      type: 'return',
      eventId: `ret-${randomUUID()}`,
      memberId: shopper,
      orderId: order.orderId,
      lines: [{ sku: 'shirt', quantity: 1 }],
    });
    assert.equal(returned.body.points.reversed, 150, JSON.stringify(returned.body));

    const leaver = await enrol(t);
    const closed = await t.api('POST', `/members/${leaver}/close`, {
      key: t.keys.ops,
      body: { reason: 'asked to leave' },
    });
    assert.equal(closed.status, 200, JSON.stringify(closed.body));

    // Webhooks: one subscription whose endpoint is down, one disabled.
    const subscribe = async () => {
      const res = await t.api('POST', '/webhooks/subscriptions', {
        key: t.keys.partner,
        body: { url: receiver.url, eventTypes: ['points.adjusted'] },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.subscription.id as string;
    };
    const failing = await subscribe();
    const disabled = await subscribe();
    const off = await t.api('PATCH', `/webhooks/subscriptions/${disabled}`, {
      key: t.keys.partner,
      body: { enabled: false },
    });
    assert.equal(off.status, 200, JSON.stringify(off.body));

    // Redemptions: two delivered (one after missing its SLA, then returned), one lost, one
    // failed, one cancelled, one gift card.
    const spender = await memberWithPoints(t, 2000);
    const shelf = await createReward(t, { pointsCost: 100, cashValue: 20, onHand: 10 });
    const low = await createReward(t, { pointsCost: 100, onHand: 3, threshold: 5 });
    const none = await createReward(t, { pointsCost: 100, onHand: 0 });
    const card = await createReward(t, { kind: 'gift_card', pointsCost: 250, cashValue: 25 });
    assert.ok(low);
    const start = async (rewardId: string, backorder = false) => {
      const res = await redeem(t, { memberId: spender, rewardId, backorder });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.redemptionId as string;
    };
    const [slow, quick, lost, failed, cancelled, gift, stalled] = [
      await start(shelf),
      await start(shelf),
      await start(shelf),
      await start(none),
      await start(none, true),
      await start(card),
      await start(shelf), // the warehouse never ships it: past the SLA before shipping
    ];
    await waitForStatus(t, failed, 'failed');
    await waitForStatus(t, cancelled, 'backordered');
    const cancel = await t.api('POST', `/redemptions/${cancelled}/cancel`, {
      key: t.keys.ops,
      body: { reason: 'changed their mind' },
    });
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    await waitForStatus(t, gift, 'completed');
    for (const id of [slow, quick, lost]) {
      await waitForStatus(t, id, 'shipment_requested');
      await eventually(
        'the warehouse to accept',
        () => t.partners!.warehouse.list().some((s) => s.shipmentId === id) || undefined,
      );
      t.partners!.warehouse.ship(id);
      await waitForStatus(t, id, 'shipped');
    }
    await waitForStatus(t, stalled, 'shipment_requested');
    t.partners!.warehouse.deliver(quick);
    await waitForStatus(t, quick, 'completed');
    await eventually('the SLA breach', async () => {
      const res = await t.api('GET', `/redemptions/${slow}`);
      return res.body.live?.slaBreached ? true : undefined;
    });
    t.partners!.warehouse.deliver(slow);
    await waitForStatus(t, slow, 'completed');
    const back = await t.api('POST', `/redemptions/${slow}/return`, {
      key: t.keys.ops,
      body: { reason: 'arrived broken' },
    });
    assert.equal(back.status, 202, JSON.stringify(back.body));
    await waitForStatus(t, slow, 'refunded');
    await waitForStatus(t, lost, 'lost', 30_000);
    await eventually('a failed webhook attempt', async () => {
      const row = await t
        .db('webhook_deliveries')
        .where({ subscription_id: failing, status: 'pending' })
        .where('attempts', '>=', 1)
        .first();
      return row ? true : undefined;
    });

    // The snapshot against SQL, read while nothing moves.
    const snapshot = await settled(
      () => health(),
      (a, b) => noTime(a) === noTime(b),
    );
    const e = await expectedFor(snapshot);
    const again = await health(`?from=${snapshot.window.from}&to=${snapshot.window.to}`);
    assert.equal(noTime(again), noTime(snapshot), 'nothing moved while SQL read');

    // Members.
    const ofStatus = (s: string) =>
      e.members.filter((m) => m.status === s).reduce((n, m) => n + m.n, 0);
    assert.equal(snapshot.members.active, ofStatus('active'));
    assert.equal(snapshot.members.dormant, ofStatus('dormant'));
    assert.equal(snapshot.members.closed, ofStatus('closed'));
    assert.equal(
      snapshot.members.total,
      e.members.reduce((n, m) => n + m.n, 0),
    );
    for (const tier of snapshot.members.byTier) {
      for (const status of ['active', 'dormant', 'closed']) {
        const n = e.members.find((m) => m.tier === tier.tier && m.status === status)?.n ?? 0;
        assert.equal(tier[status as 'active'], n, `${tier.tier} ${status}`);
      }
    }
    const tiersListed = new Set(snapshot.members.byTier.map((x) => x.tier));
    assert.ok(
      e.members.every((m) => tiersListed.has(m.tier)),
      'every tier with members listed',
    );
    assert.equal(snapshot.members.enrolled, e.enrolled);

    // Points: the ledger's sums, which the member balances must equal too.
    const { available, pending, held, debt } = e.outstanding;
    assert.deepEqual(e.memberBalances, e.outstanding, 'balances are the ledger’s projection');
    const total = available + pending + held;
    assert.deepEqual(snapshot.points.outstanding, { available, pending, held, total, debt });
    assert.deepEqual(snapshot.points.liability, [
      { amount: round(total * 0.01), currency: 'EUR', costPerPoint: 0.01 },
      { amount: round(total * 0.02), currency: 'USD', costPerPoint: 0.02 },
    ]);
    const flows = (f: Expected['window']) => ({
      issued: f.issued,
      redeemed: f.redeemed,
      expired: f.expired,
      reversed: f.reversed,
      adjusted: f.adjusted,
      adjustments: { manual: f.manual, serviceRecovery: f.serviceRecovery, refunds: f.refunds },
      serviceRecoveryCredits: f.serviceRecoveryCredits,
    });
    assert.deepEqual(snapshot.points.window, flows(e.window));
    assert.deepEqual(snapshot.points.allTime, flows(e.allTime));
    assert.equal(snapshot.points.breakageRate, e.window.expired / e.window.issued);
    assert.equal(snapshot.points.redemptionRate, e.window.redeemed / e.window.issued);

    // Redemptions.
    const r = snapshot.redemptions;
    for (const status of redemptionStatuses)
      assert.equal(r.byStatus[status], e.byStatus[status] ?? 0);
    const trend = (c: number, p: number) => (p === 0 ? null : (c - p) / p);
    assert.deepEqual(r.velocity, {
      perHour: {
        current: e.velocity.h,
        previous: e.velocity.ph,
        trend: trend(e.velocity.h, e.velocity.ph),
      },
      perDay: {
        current: e.velocity.d,
        previous: e.velocity.pd,
        trend: trend(e.velocity.d, e.velocity.pd),
      },
    });
    assert.equal(r.requested, e.requested);
    assert.equal(r.delivered, e.deliverySeconds.length);
    assert.equal(r.failed, e.steps.failed);
    assert.equal(r.cancelled, e.steps.cancelled);
    assert.equal(r.lost, e.steps.lost);
    assert.deepEqual(r.failureReasons, e.failureReasons);
    assert.deepEqual(r.cancellationReasons, e.cancellationReasons);
    assert.equal(r.timeToDelivery.count, e.deliverySeconds.length);
    for (const [p, key] of [
      [0.5, 'p50Seconds'],
      [0.9, 'p90Seconds'],
    ] as const) {
      assert.ok(Math.abs(r.timeToDelivery[key]! - percentile(e.deliverySeconds, p)!) < 1e-6, key);
    }
    assert.deepEqual(r.sla, { breaches: e.steps.sla_breached, openPastSla: e.openPastSla });
    assert.deepEqual(r.serviceRecovery, {
      credits: e.window.serviceRecoveryCredits,
      points: e.window.serviceRecovery,
    });

    // Fulfilment cost, floats, stock, webhooks.
    assert.deepEqual(
      snapshot.fulfilment.cost,
      e.cost.map((c) => {
        const shipping = c.shipped * ((shippingCost as Record<string, number>)[c.currency] ?? 0);
        const money = (amount: number) => ({ amount: round(amount), currency: c.currency });
        return {
          currency: c.currency,
          redemptions: c.n,
          rewardValue: money(c.value),
          shipping: money(shipping),
          total: money(c.value + shipping),
          perRedemption: money((c.value + shipping) / c.n),
        };
      }),
    );
    assert.deepEqual(
      snapshot.giftCardFloat.map(({ reportedAt: _, ...f }) => f),
      e.floats.map((f) => {
        const burn = f.issued / burnDays;
        return {
          provider: f.provider,
          balance: { amount: f.balance, currency: 'EUR' },
          low: f.low,
          burnPerDay: round(burn),
          daysLeft: burn > 0 ? round(f.balance / burn, 1) : null,
        };
      }),
    );
    assert.equal(snapshot.stock.atOrUnderThreshold, e.lowStock.length);
    assert.deepEqual(
      snapshot.stock.rewards.map((x) => x.sku).sort(),
      e.lowStock.slice(0, 50).sort(),
    );
    assert.equal(snapshot.webhooks.failing, e.webhooks.failing.length);
    assert.ok(e.webhooks.failing.includes(failing), 'the subscription whose endpoint is down');
    assert.equal(snapshot.webhooks.disabled, e.webhooks.disabled);

    // What this file seeded, as the change since the baseline.
    const change = (path: (s: HealthSnapshot) => number) => path(snapshot) - path(baseline);
    assert.equal(
      change((s) => s.members.total),
      4,
    );
    assert.equal(
      change((s) => s.members.closed),
      1,
    );
    assert.equal(
      change((s) => s.points.allTime.issued),
      400,
    );
    assert.equal(
      change((s) => s.points.allTime.expired),
      100,
    );
    assert.equal(
      change((s) => s.points.allTime.reversed),
      150,
    );
    assert.equal(
      change((s) => s.points.allTime.redeemed),
      100 + 100 + 250,
    );
    assert.equal(
      change((s) => s.points.allTime.adjustments.manual),
      20 - 5 + 2000,
    );
    assert.equal(
      change((s) => s.points.allTime.adjustments.serviceRecovery),
      200,
      'slow and lost both missed the SLA',
    );
    assert.equal(
      change((s) => s.points.allTime.serviceRecoveryCredits),
      2,
    );
    assert.equal(
      change((s) => s.points.allTime.adjustments.refunds),
      100,
    );
    assert.equal(
      change((s) => s.points.outstanding.pending),
      150,
    );
    for (const [status, n] of [
      ['completed', 2],
      ['refunded', 1],
      ['failed', 1],
      ['cancelled', 1],
      ['lost', 1],
    ] as const)
      assert.equal(
        change((s) => s.redemptions.byStatus[status]),
        n,
        status,
      );
    assert.equal(
      change((s) => s.redemptions.failed),
      1,
    );
    assert.equal(
      change((s) => s.redemptions.cancelled),
      1,
    );
    assert.ok(r.cancellationReasons.some((x) => x.reason === 'changed their mind'));
    assert.ok(r.failureReasons.some((x) => x.reason === 'OutOfStock'));
    assert.equal(
      change((s) => s.redemptions.sla.breaches),
      2,
    );
    assert.ok(snapshot.redemptions.sla.openPastSla >= 1, 'the stalled one waits past the SLA');
    assert.equal(
      change((s) => s.stock.atOrUnderThreshold),
      2,
      'low and none',
    );
    assert.equal(
      change((s) => s.webhooks.disabled),
      1,
    );
    const eur = (s: HealthSnapshot) => s.fulfilment.cost.find((c) => c.currency === 'EUR');
    assert.equal(
      change((s) => eur(s)?.redemptions ?? 0),
      4,
      'three shipped, one card issued',
    );
    assert.equal(
      change((s) => eur(s)?.shipping.amount ?? 0),
      3 * 4.5,
    );
    assert.ok(snapshot.giftCardFloat.some((f) => f.provider === 'giftco' && (f.daysLeft ?? 0) > 0));

    // Series: a daily one over the last three days and an hourly one, against SQL.
    const series = async (metric: string, bucket: string, from: string, to: string) => {
      const res = await t.api(
        'GET',
        `/program/health/series?metric=${metric}&bucket=${bucket}&from=${from}&to=${to}`,
        { key: t.keys.readonly },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as Series;
    };
    const midnight = new Date(snapshot.window.to);
    if (midnight.getUTCHours() > 0) midnight.setUTCHours(24, 0, 0, 0); // the next UTC midnight
    const to = midnight.toISOString();
    const threeDaysBefore = new Date(Date.parse(to) - 3 * 86_400_000).toISOString();
    // A window holding today whole: its flows come from the daily level, the edges hourly.
    const hourAfter = (iso: string) => new Date(Date.parse(iso) + 3_600_000).toISOString();
    const wide = await health(`?from=${hourAfter(threeDaysBefore)}&to=${hourAfter(to)}`);
    assert.deepEqual(wide.points.window, flows((await expectedFor(wide)).window));
    assert.ok(wide.points.window.issued >= 400, 'today is in it');
    const bySql = async (sql: string, s: Series) => {
      const { rows } = await t.db.raw<{ rows: { start: Date; v: number }[] }>(sql, [
        s.bucket,
        s.from,
        s.to,
      ]);
      return s.points.map((p) => rows.find((x) => x.start.toISOString() === p.start)?.v ?? 0);
    };
    const values = (s: Series) => s.points.map((p) => p.value);
    for (const [metric, sql] of [
      [
        'points_issued',
        `SELECT date_trunc(?, created_at, 'UTC') AS start, sum(amount)::int AS v FROM ledger_entries
         WHERE kind = 'accrual' AND created_at >= ? AND created_at < ? GROUP BY 1`,
      ],
      [
        'points_expired',
        `SELECT date_trunc(?, created_at, 'UTC') AS start, -sum(amount)::int AS v FROM ledger_entries
         WHERE kind = 'expiry' AND created_at >= ? AND created_at < ? GROUP BY 1`,
      ],
      [
        'enrolments',
        `SELECT date_trunc(?, enrolled_at, 'UTC') AS start, count(*)::int AS v FROM members
         WHERE enrolled_at >= ? AND enrolled_at < ? GROUP BY 1`,
      ],
      [
        'redemptions_failed',
        `SELECT date_trunc(?, at, 'UTC') AS start, count(*)::int AS v FROM redemption_steps
         WHERE step = 'failed' AND at >= ? AND at < ? GROUP BY 1`,
      ],
    ] as const) {
      for (const bucket of ['day', 'hour']) {
        const s = await series(metric, bucket, threeDaysBefore, to);
        assert.equal(s.points.length, bucket === 'day' ? 3 : 72, `${metric} by ${bucket}`);
        assert.deepEqual(values(s), await bySql(sql, s), `${metric} by ${bucket}`);
      }
    }
    // Member workflows of earlier test files may still move points: read the series and the
    // snapshot's outstanding total together, while nothing moves.
    const [outstanding, outstandingNow] = await settled(
      async () =>
        [
          await series('points_outstanding', 'hour', threeDaysBefore, to),
          (await health()).points.outstanding.total,
        ] as const,
      (a, b) => JSON.stringify(a) === JSON.stringify(b),
    );
    const { rows: closing } = await t.db.raw<{ rows: { v: number }[] }>(
      `SELECT (SELECT coalesce(sum(available_delta + pending_delta + held_delta), 0)::int
         FROM ledger_entries WHERE created_at < e) AS v
       FROM unnest(?::timestamptz[]) AS e`,
      [outstanding.points.map((p) => p.end)],
    );
    assert.deepEqual(
      values(outstanding),
      closing.map((x) => x.v),
    );
    // Other test files write some entries on a clock ahead of now (dated past this window).
    const { rows: later } = await t.db.raw<{ rows: { v: number }[] }>(
      `SELECT coalesce(sum(available_delta + pending_delta + held_delta), 0)::int AS v
       FROM ledger_entries WHERE created_at >= ?`,
      [to],
    );
    assert.equal(
      values(outstanding).at(-1),
      outstandingNow - (later[0]?.v ?? 0),
      'ends at the outstanding points',
    );

    // /metrics, against the same SQL.
    const scrape = async () => {
      const res = await t.api('GET', '/metrics', { key: null });
      assert.equal(res.status, 200);
      const values = new Map<string, number>();
      for (const line of (res.body as string).split('\n')) {
        const m = /^(loyalty_\w+)(\{[^}]*\})? (\S+)$/.exec(line);
        if (m) values.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
      }
      return values;
    };
    const metrics = await settled(
      scrape,
      (a, b) => JSON.stringify([...a]) === JSON.stringify([...b]),
    );
    const m = await expectedFor({ ...snapshot, asOf: new Date().toISOString() });
    const metric = (key: string) => metrics.get(key);
    for (const row of m.members)
      assert.equal(metric(`loyalty_members{status="${row.status}",tier="${row.tier}"}`), row.n);
    for (const state of ['available', 'pending', 'held'] as const)
      assert.equal(metric(`loyalty_points_outstanding{state="${state}"}`), m.outstanding[state]);
    const mTotal = m.outstanding.available + m.outstanding.pending + m.outstanding.held;
    assert.equal(metric('loyalty_liability{currency="EUR"}'), round(mTotal * 0.01));
    assert.equal(metric('loyalty_liability{currency="USD"}'), round(mTotal * 0.02));
    assert.equal(metric('loyalty_points_issued_total'), m.allTime.issued);
    assert.equal(metric('loyalty_points_redeemed_total'), m.allTime.redeemed);
    assert.equal(metric('loyalty_points_expired_total'), m.allTime.expired);
    assert.equal(metric('loyalty_points_adjusted_total{direction="credit"}'), m.adjustedCredit);
    assert.equal(metric('loyalty_points_adjusted_total{direction="debit"}'), m.adjustedDebit);
    for (const status of redemptionStatuses)
      assert.equal(metric(`loyalty_redemptions{status="${status}"}`), m.byStatus[status] ?? 0);
    assert.equal(metric('loyalty_redemptions_past_sla'), m.openPastSla);
    for (const f of m.floats)
      assert.equal(
        metric(`loyalty_giftcard_float_days_left{provider="${f.provider}"}`),
        f.issued > 0 ? round(f.balance / (f.issued / burnDays), 1) : undefined,
      );
    assert.equal(metric('loyalty_rewards_low_stock'), m.lowStock.length);
    assert.equal(
      metric('loyalty_webhook_subscriptions{state="failing"}'),
      m.webhooks.failing.length,
    );
    assert.equal(metric('loyalty_webhook_subscriptions{state="disabled"}'), m.webhooks.disabled);
    assert.ok(metrics.has('loyalty_giftcard_float{provider="giftco",currency="EUR",low="false"}'));
  });

  it('refuses a bad metric, bucket or range with 422 naming the field, and needs a key', async () => {
    const now = new Date().toISOString();
    const dayAgo = new Date(Date.now() - 86_400_000).toISOString();
    const yearAgo = new Date(Date.now() - 365 * 86_400_000).toISOString();
    const longAgo = new Date(Date.now() - 4000 * 86_400_000).toISOString();
    for (const [path, field] of [
      ['/program/health/series?metric=nope', 'query.metric'],
      ['/program/health/series', 'query.metric'],
      ['/program/health/series?metric=points_issued&bucket=minute', 'query.bucket'],
      ['/program/health/series?metric=points_issued&from=yesterday', 'query.from'],
      [`/program/health/series?metric=points_issued&from=${now}&to=${dayAgo}`, 'query.from'],
      [`/program/health/series?metric=points_issued&bucket=hour&from=${yearAgo}`, 'query.bucket'],
      [`/program/health?from=${longAgo}`, 'query.from'],
      ['/program/health?to=2026-13-01T00:00:00Z', 'query.to'],
    ]) {
      const res = await t.api('GET', path!, { key: t.keys.readonly });
      assert.equal(res.status, 422, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(res.body.errors[0].field, field, path);
    }
    assert.equal((await t.api('GET', '/program/health', { key: null })).status, 401);
    const week = await t.api(
      'GET',
      `/program/health/series?metric=redemptions_requested&bucket=week&from=${yearAgo}&to=${now}`,
      { key: t.keys.readonly },
    );
    assert.equal(week.status, 200, JSON.stringify(week.body));
    assert.equal(new Date(week.body.points[0].start).getUTCDay(), 1, 'weeks start on Monday');
  });
});
