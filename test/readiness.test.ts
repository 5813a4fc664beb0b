/**
 * A launch's readiness checks against the real stack (its own database, the real Temporal server,
 * the partner simulators and a worker whose partner calls the checks see): every check passes on
 * a healthy stack, and each fails with a clear detail when its condition is broken: a partner
 * down or failing too often, the float below the projection, stock below the threshold, a failing
 * webhook subscription, no worker polling, no simulation, a critical alert firing.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { parse } from 'yaml';
import { createActivities } from '../activities';
import { createPartnerCallLog } from '../activities/partner-calls';
import { criticalAlerts } from '../changes/readiness-alerts';
import {
  guarded,
  runReadinessChecks,
  type CheckResult,
  type ReadinessDeps,
  type SimulationGiven,
  type SimulationSummary,
} from '../changes/readiness-checks';
import { dataConverterOf } from '../infra/payload-codec';
import { publishRuleSet } from '../ledger/programs';
import { eventually, startTestContext, uniqueId, type TestContext } from './support/context';
import { startReceiver, type Receiver } from './support/receiver';
import { freshDatabase, startPrometheus } from './support/readiness';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';

const completed: SimulationSummary = {
  id: 'sim-1',
  state: 'completed',
  result: { points: { actual: 100, simulated: 100 }, perActiveMember: { actual: 5, simulated: 5 } },
};

describe('launch readiness checks', () => {
  let t: TestContext;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let worker: Worker;
  let running: Promise<void>;
  let receiver: Receiver;
  const partnerCalls = createPartnerCallLog();
  let activities: ReturnType<typeof createActivities>;
  let deps: ReadinessDeps;

  before(async () => {
    database = await freshDatabase();
    t = await startTestContext(
      'readiness',
      {
        DATABASE_URL: database.url,
        WEBHOOK_RETRY_SCHEDULE: '1h',
        WEBHOOK_POLL_MS: 100,
      },
      { partners: {}, worker: false, webhooks: true },
    );
    await publishRuleSet(t.db, redemptionProgram, { createdBy: 'test' });
    activities = createActivities({
      db: t.db,
      config: t.config,
      temporal: t.env.client,
      partnerCalls,
    });
    worker = await Worker.create({
      connection: t.env.nativeConnection,
      namespace: t.config.TEMPORAL_NAMESPACE,
      taskQueue: t.config.TEMPORAL_TASK_QUEUE,
      dataConverter: dataConverterOf(t.config),
      workflowBundle: { codePath: process.env.LOYALTY_TEST_WORKFLOW_BUNDLE! },
      activities,
    });
    running = worker.run();
    deps = { db: t.db, config: t.config, temporal: t.env.client, partnerCalls };
    receiver = await startReceiver();
  });
  after(async () => {
    worker.shutdown();
    await running;
    await receiver.close();
    await t.stop();
    await database.drop();
  });

  /** A URL where nothing listens: a port just closed. */
  let nowhere: string;
  before(async () => {
    const server = http.createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    nowhere = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    await new Promise((resolve) => server.close(resolve));
  });

  const byName = (results: CheckResult[], name: string): CheckResult => {
    const found = results.find((r) => r.name === name);
    assert.ok(found, `no ${name} check in ${JSON.stringify(results.map((r) => r.name))}`);
    return found;
  };
  const check = async (name: string, plan = {}, simulation: SimulationGiven | null = completed) =>
    byName(await runReadinessChecks(deps, plan, { changeId: 'chg-1', simulation }), name);

  /** A gift-card redemption by a member with points; waits for it to end as `status`. */
  const giftCardRedemption = async (rewardId: string, status: 'completed' | 'failed') => {
    const memberId = await memberWithPoints(t, 1000);
    const res = await redeem(t, { memberId, rewardId });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await waitForStatus(t, res.body.redemptionId as string, status);
    return memberId;
  };

  it('every check passes on a healthy stack, each saying what it saw', async () => {
    await eventually('the worker polling', async () =>
      (await check('worker')).ok ? true : undefined,
    );
    const shelf = await createReward(t, { onHand: 10, threshold: 2 });
    const coupon = await createReward(t, { kind: 'coupon', codes: ['A-1', 'A-2'] });
    const results = await activities.readinessChecks({
      plan: { checks: { featuredRewards: [shelf, coupon], floatDays: 3 } },
      changeId: 'chg-1',
      simulation: completed,
    });
    assert.deepEqual(
      results.map((r) => r.name),
      [
        'postgres',
        'temporal',
        'worker',
        'partner:warehouse',
        'partner:giftcard',
        'float',
        'stock',
        'webhooks',
        'simulation',
        'alerts',
      ],
    );
    for (const r of results) assert.equal(r.ok, true, `${r.name}: ${r.detail}`);
    assert.match(byName(results, 'postgres').detail, /^answered in \d+ ms$/);
    assert.match(
      byName(results, 'worker').detail,
      new RegExp(`task queue ${t.config.TEMPORAL_TASK_QUEUE}`),
    );
    assert.match(byName(results, 'partner:warehouse').detail, /warehouse answered 200 in \d+ ms/);
    assert.match(
      byName(results, 'float').detail,
      /^float 10000\.00 EUR \(as the provider answers now\) covers/,
    );
    assert.match(
      byName(results, 'stock').detail,
      new RegExp(`${shelf} \\(10 available, above 2\\)`),
    );
    assert.match(
      byName(results, 'stock').detail,
      new RegExp(`${coupon} \\(2 codes left, above 0\\)`),
    );
    assert.match(
      byName(results, 'simulation').detail,
      /^simulation sim-1 of rule change chg-1 completed: 100 points against 100 issued$/,
    );
    assert.match(byName(results, 'alerts').detail, /PROMETHEUS_URL is not set: .*none would fire/);
  });

  it('a partner that is down, or fails too many calls, fails its check', async () => {
    t.partners!.warehouse.faults.set({ failRate: 1, failStatus: 503 });
    try {
      const down = await check('partner:warehouse');
      assert.equal(down.ok, false);
      assert.match(down.detail, /^warehouse is not reachable: http:.*\/health answered 503$/);
    } finally {
      t.partners!.warehouse.faults.reset();
    }
    // A partner that holds the probe unanswered: no answer in 5 s.
    t.partners!.warehouse.faults.set({ latencyMs: 8000 });
    try {
      const slow = await check('partner:warehouse');
      assert.equal(slow.ok, false);
      assert.match(slow.detail, /^warehouse is not reachable: .*\/health no answer in 5000 ms$/);
    } finally {
      t.partners!.warehouse.faults.reset();
    }
    const gone = await runReadinessChecks(
      { ...deps, config: { ...deps.config, GIFTCARD_URL: nowhere } },
      {},
    );
    assert.equal(byName(gone, 'partner:giftcard').ok, false);
    assert.match(
      byName(gone, 'partner:giftcard').detail,
      /giftcard is not reachable: .* ECONNREFUSED/,
    );

    // Two of the provider's answers fail, the third issues the card: the worker saw 2 of 3 fail.
    const card = await createReward(t, { kind: 'gift_card', denomination: 25 });
    const before = partnerCalls.since('giftcard', 0);
    t.partners!.giftcards.faults.set({ failNext: 2 });
    await giftCardRedemption(card, 'completed');
    const after = partnerCalls.since('giftcard', 0);
    assert.deepEqual(
      { calls: after.calls - before.calls, errors: after.errors - before.errors },
      { calls: 3, errors: 2 },
    );
    const failing = await check('partner:giftcard');
    assert.equal(failing.ok, false, failing.detail);
    assert.match(
      failing.detail,
      new RegExp(
        `giftcard fails too often: ${after.errors} of ${after.calls} calls in the last 10 minutes failed \\(.*%, by this worker\\), over the 20% allowed`,
      ),
    );
    const tolerant = await check('partner:giftcard', { checks: { maxPartnerErrorRate: 0.7 } });
    assert.equal(tolerant.ok, true, tolerant.detail);
  });

  it('the float must cover the projected issuance of the first days', async () => {
    const card = await createReward(t, { kind: 'gift_card', denomination: 25 });
    await giftCardRedemption(card, 'completed');
    const { rows } = await t.db.raw<{ rows: { issued: number }[] }>(
      `SELECT sum(denomination)::float8 AS issued FROM gift_cards WHERE issued_at > now() - interval '7 days'`,
    );
    const issued = rows[0]!.issued;
    assert.ok(issued >= 25);
    // A week of projection at the week's burn is what was issued this week.
    const plan = { checks: { floatDays: 7 } };
    t.partners!.giftcards.setFloat(issued - 0.01);
    const short = await check('float', plan);
    assert.equal(short.ok, false);
    assert.match(
      short.detail,
      new RegExp(`does not cover the projected issuance of 7 days, ${issued.toFixed(2)} EUR`),
    );
    t.partners!.giftcards.setFloat(issued);
    assert.equal((await check('float', plan)).ok, true);
    // The simulation earns twice the points: twice the cards.
    const doubled = { ...completed, result: { points: { actual: 100, simulated: 200 } } };
    const scaled = await check('float', plan, doubled);
    assert.equal(scaled.ok, false);
    assert.match(scaled.detail, /× 2\.00 by the simulation's points/);
    assert.deepEqual(
      (scaled.observed as { projected: number }).projected,
      Math.round(issued * 200) / 100,
    );
    // The provider cannot be asked: its float as its last answer reported it.
    const unreachable = await runReadinessChecks(
      { ...deps, config: { ...deps.config, GIFTCARD_URL: nowhere } },
      plan,
    );
    assert.match(
      byName(unreachable, 'float').detail,
      /\(as last reported, .*GET \/float ECONNREFUSED\)/,
    );
    t.partners!.giftcards.setFloat(10_000);
  });

  it('featured rewards below their threshold, out of codes or unknown fail the stock check', async () => {
    const low = await createReward(t, { onHand: 3, threshold: 5 });
    const fine = await createReward(t, { onHand: 8, threshold: 5 });
    const coupon = await createReward(t, { kind: 'coupon', codes: ['ONLY-1'] });
    const result = await check('stock', {
      checks: { featuredRewards: [low, fine, coupon, 'nope'] },
    });
    assert.equal(result.ok, false);
    assert.equal(
      result.detail,
      `featured rewards short: ${low} (3 available, not above 5); nope (no such reward)`,
    );
    const strict = await check('stock', {
      checks: { featuredRewards: [fine, coupon], minStock: 8 },
    });
    assert.equal(strict.ok, false);
    assert.match(
      strict.detail,
      new RegExp(
        `${fine} \\(8 available, not above 8\\); ${coupon} \\(1 codes left, not above 8\\)`,
      ),
    );
  });

  it('a webhook subscription whose deliveries fail fails the check until it is disabled', async () => {
    receiver.mode = 'down';
    const sub = await t.api('POST', '/webhooks/subscriptions', {
      key: t.keys.partner,
      body: { url: receiver.url, eventTypes: ['points.adjusted'] },
    });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const id = sub.body.subscription.id as string;
    await memberWithPoints(t, 10); // a points.adjusted event
    const failing = await eventually('the failing subscription seen', async () => {
      const result = await check('webhooks');
      return result.ok ? undefined : result;
    });
    assert.match(
      failing.detail,
      new RegExp(
        `1 webhook subscriptions unhealthy: ${receiver.url} \\(${id}\\) failing: 1 deliveries being retried, last 503`,
      ),
    );
    const off = await t.api('PATCH', `/webhooks/subscriptions/${id}`, {
      key: t.keys.partner,
      body: { enabled: false },
    });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    const healthy = await check('webhooks');
    assert.equal(healthy.ok, true, healthy.detail);
  });

  it('no worker polling the task queue fails the worker check and the critical alert', async () => {
    const queue = uniqueId('nobody-polls');
    const results = await runReadinessChecks(
      { ...deps, config: { ...deps.config, TEMPORAL_TASK_QUEUE: queue } },
      {},
      { simulation: completed },
    );
    const worker = byName(results, 'worker');
    assert.equal(worker.ok, false);
    assert.equal(
      worker.detail,
      `no worker is polling task queue ${queue} for workflow tasks or activity tasks (none seen in the last 2 minutes)`,
    );
    assert.match(
      byName(results, 'alerts').detail,
      new RegExp(`LoyaltyNoWorkerPolling \\(no worker polls ${queue}\\)`),
    );
  });

  it('a check that hangs fails as unanswered, and one that throws says why', async () => {
    const hung = await guarded('postgres', () => new Promise<never>(() => undefined), 50);
    assert.deepEqual(hung, {
      name: 'postgres',
      ok: false,
      detail: 'the check could not run: no answer in 0.05 s',
    });
    const broken = await guarded('stock', () =>
      Promise.reject(new Error('relation "x" does not exist')),
    );
    assert.equal(broken.detail, 'the check could not run: relation "x" does not exist');
  });

  it('a rule change not simulated, or still simulating, fails the simulation check', async () => {
    const none = await check('simulation', {}, null);
    assert.deepEqual(none, {
      name: 'simulation',
      ok: false,
      detail: 'rule change chg-1 has not been simulated',
    });
    const runningSim = await check(
      'simulation',
      {},
      { id: 'sim-2', state: 'running', result: null },
    );
    assert.equal(runningSim.ok, false);
    assert.equal(
      runningSim.detail,
      'simulation sim-2 of rule change chg-1 is running, not completed',
    );
    // The bare result the rule change keeps: a completed simulation.
    const attached = await check('simulation', {}, { points: { actual: 10, simulated: 12 } });
    assert.deepEqual(attached, {
      name: 'simulation',
      ok: true,
      detail: 'the simulation of rule change chg-1 completed: 12 points against 10 issued',
      observed: { id: null, state: 'completed', points: { actual: 10, simulated: 12 } },
    });
  });

  it('with PROMETHEUS_URL, critical alerts and partner error rates come from Prometheus', async () => {
    const prometheus = await startPrometheus();
    try {
      const withProm = { ...deps, config: { ...deps.config, PROMETHEUS_URL: prometheus.url } };
      prometheus.alerts = [
        {
          labels: { alertname: 'LoyaltyWebhookEndpointFailing', severity: 'warning' },
          state: 'firing',
        },
        {
          labels: { alertname: 'LoyaltyNoWorkerPolling', severity: 'critical' },
          annotations: { summary: 'No worker is polling the loyalty task queue' },
          state: 'firing',
        },
        {
          labels: { alertname: 'LoyaltyGiftCardFloatRunningOut', severity: 'critical' },
          state: 'pending',
        },
      ];
      prometheus.values = {
        'loyalty_partner_request_errors_total{partner="warehouse"': 30,
        'loyalty_partner_request_duration_seconds_count{partner="warehouse"': 100,
      };
      const results = await runReadinessChecks(withProm, {}, { simulation: completed });
      const alerts = byName(results, 'alerts');
      assert.equal(alerts.ok, false);
      assert.equal(
        alerts.detail,
        'critical alerts firing in Prometheus: LoyaltyNoWorkerPolling (No worker is polling the loyalty task queue)',
      );
      const warehouse = byName(results, 'partner:warehouse');
      assert.equal(warehouse.ok, false);
      assert.match(
        warehouse.detail,
        /30 of 100 calls in the last 10 minutes failed \(30%, by Prometheus\)/,
      );
      assert.ok(prometheus.queries.some((q) => q.includes('kind!="rejected"')));
      prometheus.alerts = [];
      const quiet = await runReadinessChecks(withProm, {}, { simulation: completed });
      assert.equal(byName(quiet, 'alerts').detail, 'Prometheus has no critical alert firing');
      assert.equal(byName(quiet, 'alerts').ok, true);
    } finally {
      await prometheus.close();
    }
    // Prometheus down: the checks fall back on our own figures, and say so.
    const down = { ...deps, config: { ...deps.config, PROMETHEUS_URL: prometheus.url } };
    const fallback = await runReadinessChecks(down, {}, { simulation: completed });
    const alerts = byName(fallback, 'alerts');
    assert.equal(alerts.ok, true, alerts.detail);
    assert.match(
      alerts.detail,
      /^Prometheus could not be asked \(.*\): evaluated the critical alerts .* from our own figures; none would fire$/,
    );
    assert.match(
      byName(fallback, 'partner:warehouse').detail,
      /by this worker: Prometheus could not be asked/,
    );
  });

  it('the critical alerts evaluated without Prometheus are the critical ones of alerts.yml', () => {
    const file = path.join(__dirname, '..', 'deploy', 'prometheus', 'alerts.yml');
    const rules = (
      parse(fs.readFileSync(file, 'utf8')) as {
        groups: { rules: { alert: string; labels?: { severity?: string } }[] }[];
      }
    ).groups.flatMap((g) => g.rules);
    const critical = [
      ...new Set(rules.filter((r) => r.labels?.severity === 'critical').map((r) => r.alert)),
    ];
    assert.deepEqual(critical.sort(), [...criticalAlerts].sort());
  });
});
