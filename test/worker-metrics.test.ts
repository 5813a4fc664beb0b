/**
 * The worker's metrics endpoint, as Prometheus scrapes it: `npm run worker` as its own process
 * with WORKER_METRICS_PORT set, driven through the API against the real partners, then scraped.
 * Redemption durations, partner calls and webhook attempts are checked against what the API,
 * the partners and the delivery log say happened; the Temporal SDK's own metrics are there too.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { histogramBuckets } from '../activities/metrics';
import { freePort } from '../stack/ports';
import { findPrometheus } from '../stack/promtool';
import { eventually, startTestContext, type TestContext } from './support/context';
import { enrol, publishProgram } from './support/ledger';
import { prometheusMetrics, temporalSdkMetrics, workerMetrics } from './support/metric-names';
import { familyNames, metricNamesIn, scrape, valueOf, type Sample } from './support/prometheus';
import { startReceiver, type Receiver } from './support/receiver';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';

const root = path.resolve(__dirname, '..');

describe('the worker metrics endpoint', () => {
  let t: TestContext;
  let worker: ChildProcess;
  let metricsUrl: string;
  const receivers: Receiver[] = [];
  const startedAt = new Date();
  let port: number;
  const metrics = (): Promise<Sample[]> => scrape(metricsUrl);
  /** `npm run worker`'s environment: this test's task queue, partners and a metrics port. */
  const workerEnv = (): NodeJS.ProcessEnv => ({
    ...process.env,
    DATABASE_URL: t.config.DATABASE_URL,
    DATABASE_POOL_MAX: '3',
    TEMPORAL_ADDRESS: t.config.TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: t.config.TEMPORAL_TASK_QUEUE,
    WAREHOUSE_URL: t.config.WAREHOUSE_URL,
    GIFTCARD_URL: t.config.GIFTCARD_URL,
    WAREHOUSE_WEBHOOK_SECRET: t.config.WAREHOUSE_WEBHOOK_SECRET,
    GIFTCARD_WEBHOOK_SECRET: t.config.GIFTCARD_WEBHOOK_SECRET,
    CALLBACK_BASE_URL: t.baseUrl,
    WEBHOOK_RETRY_SCHEDULE: t.config.WEBHOOK_RETRY_SCHEDULE,
    WEBHOOK_POLL_MS: String(t.config.WEBHOOK_POLL_MS),
    WORKER_METRICS_PORT: String(port),
    LOG_LEVEL: 'error',
  });

  before(async () => {
    t = await startTestContext(
      'worker-metrics',
      { WEBHOOK_RETRY_SCHEDULE: '200ms,200ms', WEBHOOK_POLL_MS: 100 },
      { partners: {}, worker: false },
    );
    await publishProgram(t, redemptionProgram);
    port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    worker = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'workers', 'main.ts')], {
      cwd: root,
      env: workerEnv(),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    // Polling: the SDK reports its pollers once they have started.
    await eventually(
      'the worker to serve its metrics',
      async () => {
        const samples = await metrics().catch(() => []);
        return (valueOf(samples, 'temporal_num_pollers') ?? 0) > 0 ? true : undefined;
      },
      60_000,
    );
  });
  after(async () => {
    if (worker.exitCode === null && worker.signalCode === null) {
      const exited = once(worker, 'exit');
      worker.kill('SIGTERM');
      await exited;
    }
    await Promise.all(receivers.map((r) => r.close()));
    await t.stop();
  });

  it("times each redemption from its request to how it ended, and counts the partner's no", async () => {
    const reward = await createReward(t, { kind: 'gift_card', pointsCost: 100 });
    const memberId = await memberWithPoints(t, 1000);

    const ok = await redeem(t, { memberId, rewardId: reward });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const completed = await waitForStatus(t, ok.body.redemptionId as string, 'completed');

    t.partners!.giftcards.declineNext(1);
    const no = await redeem(t, { memberId, rewardId: reward });
    assert.equal(no.status, 201, JSON.stringify(no.body));
    const failed = await waitForStatus(t, no.body.redemptionId as string, 'failed');

    /** Seconds from the request to the final step, as the API shows them. */
    const took = (view: { createdAt: string; timeline: { step: string; at: string }[] }) =>
      (Date.parse(view.timeline.at(-1)!.at) - Date.parse(view.createdAt)) / 1000;
    const samples = await metrics();
    const duration = 'loyalty_redemption_duration_seconds';
    assert.equal(valueOf(samples, `${duration}_count`, { outcome: 'completed' }), 1);
    assert.equal(valueOf(samples, `${duration}_count`, { outcome: 'failed' }), 1);
    assert.equal(valueOf(samples, `${duration}_count`, { outcome: 'cancelled' }), undefined);
    const completedSum = valueOf(samples, `${duration}_sum`, { outcome: 'completed' })!;
    assert.ok(
      Math.abs(completedSum - took(completed)) < 0.002,
      `${completedSum} vs ${took(completed)}`,
    );
    const failedSum = valueOf(samples, `${duration}_sum`, { outcome: 'failed' })!;
    assert.ok(Math.abs(failedSum - took(failed)) < 0.002, `${failedSum} vs ${took(failed)}`);
    assert.equal(valueOf(samples, `${duration}_bucket`, { le: '+Inf' }), 2);
    // The buckets are ours (from instant gift cards to parcels weeks on the road).
    const bounds = samples
      .filter((s) => s.name === `${duration}_bucket` && s.labels.outcome === 'completed')
      .map((s) => (s.labels.le === '+Inf' ? Infinity : Number(s.labels.le)));
    assert.deepEqual(bounds, [...histogramBuckets[duration]!, Infinity]);

    const issue = { partner: 'giftcard', operation: 'issueGiftCard' };
    const calls = 'loyalty_partner_request_duration_seconds_count';
    assert.equal(valueOf(samples, calls, { ...issue, outcome: 'ok' }), 1);
    assert.equal(valueOf(samples, calls, { ...issue, outcome: 'rejected' }), 1);
    const errors = 'loyalty_partner_request_errors_total';
    assert.equal(valueOf(samples, errors, { ...issue, kind: 'rejected' }), 1);
    assert.equal(valueOf(samples, errors, { ...issue, kind: 'unavailable' }), undefined);
  });

  it('counts each failed warehouse call by kind, and the retry that got through', async () => {
    const sku = await createReward(t, { pointsCost: 100, onHand: 3 });
    const memberId = await memberWithPoints(t, 1000);
    // Two answers of 503, then the third attempt is taken (the program allows three).
    t.partners!.warehouse.faults.set({ failNext: 2, failStatus: 503 });
    const res = await redeem(t, { memberId, rewardId: sku });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await waitForStatus(t, res.body.redemptionId as string, 'completed');

    const samples = await metrics();
    const create = { partner: 'warehouse', operation: 'createShipment' };
    const errors = 'loyalty_partner_request_errors_total';
    assert.equal(valueOf(samples, errors, { ...create, kind: 'unavailable' }), 2);
    assert.equal(valueOf(samples, errors, { ...create, kind: 'timeout' }), undefined);
    const calls = 'loyalty_partner_request_duration_seconds_count';
    assert.equal(valueOf(samples, calls, { ...create, outcome: 'unavailable' }), 2);
    assert.equal(valueOf(samples, calls, { ...create, outcome: 'ok' }), 1);
    const duration = 'loyalty_redemption_duration_seconds_count';
    assert.equal(
      valueOf(samples, duration, { outcome: 'completed' }),
      2,
      'the gift card, then this',
    );
  });

  it('counts webhook attempts delivered and failed, as the delivery log records them', async () => {
    const subscribe = async (mode: Receiver['mode']) => {
      const receiver = await startReceiver();
      receiver.mode = mode;
      receivers.push(receiver);
      const res = await t.api('POST', '/webhooks/subscriptions', {
        key: t.keys.partner,
        body: { url: receiver.url, eventTypes: ['points.adjusted'], description: mode },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      receiver.secrets.push(res.body.secret as string);
      return { receiver, id: res.body.subscription.id as string };
    };
    const up = await subscribe('ok');
    const down = await subscribe('down');
    const memberId = await enrol(t);
    const adjusted = await t.api('POST', `/members/${memberId}/adjustments`, {
      body: { points: 10, reason: 'webhook metrics' },
    });
    assert.equal(adjusted.status, 201, JSON.stringify(adjusted.body));

    await eventually('the event at the endpoint that is up', () =>
      up.receiver.handled.some((r) => r.type === 'points.adjusted' && r.data.memberId === memberId)
        ? true
        : undefined,
    );
    // Three attempts (two retries 200 ms apart) at the endpoint that is down, then it fails.
    const downDeliveries = () =>
      t.db('webhook_deliveries').where({ subscription_id: down.id }).pluck('status');
    await eventually('the delivery to the endpoint that is down to fail', async () =>
      (await downDeliveries()).includes('failed') ? true : undefined,
    );

    // Every attempt this worker made is in the delivery log: the counters say the same.
    const logged = async () => {
      const rows = await t
        .db('webhook_attempts')
        .where('at', '>=', startedAt)
        .select<{ status_code: number | null }[]>('status_code');
      const ok = rows.filter((r) => r.status_code !== null && r.status_code < 300).length;
      return { delivered: ok, failed: rows.length - ok };
    };
    const counted = async () => {
      const samples = await metrics();
      const at = (result: string) =>
        valueOf(samples, 'loyalty_webhook_attempts_total', { result }) ?? 0;
      return { delivered: at('delivered'), failed: at('failed') };
    };
    const agreed = await eventually('the counters to match the delivery log', async () => {
      const [log, seen] = [await logged(), await counted()];
      return log.delivered === seen.delivered && log.failed === seen.failed ? seen : undefined;
    });
    assert.ok(agreed.delivered >= 1, JSON.stringify(agreed));
    assert.ok(agreed.failed >= 3, JSON.stringify(agreed));
    const downAttempts = await t
      .db('webhook_attempts as a')
      .join('webhook_deliveries as d', 'd.id', 'a.delivery_id')
      .where('d.subscription_id', down.id)
      .count<{ n: string }[]>({ n: '*' });
    assert.equal(Number(downAttempts[0]!.n), 3);
  });

  it('stops a second worker whose metrics port is taken, naming the setting', async () => {
    const second = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'workers', 'main.ts')],
      {
        cwd: root,
        env: { ...workerEnv(), TEMPORAL_TASK_QUEUE: `${t.config.TEMPORAL_TASK_QUEUE}-second` },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    second.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(second, 'exit')) as [number | null];
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /cannot serve the worker's metrics on 127\.0\.0\.1:\d+ \(WORKER_METRICS_HOST, WORKER_METRICS_PORT/,
    );
    assert.match(stderr, /Address already in use/);
    // The first worker goes on serving.
    assert.ok((valueOf(await metrics(), 'temporal_num_pollers') ?? 0) > 0);
  });

  it("serves the Temporal SDK's worker metrics beside them", async () => {
    const samples = await metrics();
    const names = familyNames(samples);
    const queue = { task_queue: t.config.TEMPORAL_TASK_QUEUE };
    for (const poller of ['workflow_task', 'activity_task']) {
      const pollers = valueOf(samples, 'temporal_num_pollers', { ...queue, poller_type: poller });
      assert.ok((pollers ?? 0) > 0, `${poller} pollers: ${pollers}`);
    }
    // The names the shipped dashboard and alerts use (test/monitoring.test.ts holds them to it);
    // the worker's own are all there by now, after the tests above.
    const used = [...Object.values(temporalSdkMetrics), ...Object.values(workerMetrics)].flat();
    for (const name of used) {
      assert.ok(names.has(name), `${name} in ${[...names].sort().join(', ')}`);
    }
  });

  it("is scraped by a real Prometheus: the shipped rules evaluate, the dashboard's worker panels have data", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-prometheus-'));
    const promPort = await freePort();
    const api = `http://127.0.0.1:${promPort}/api/v1`;
    // deploy/prometheus/prometheus.yml's worker job, aimed at this worker, scraped every second.
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      JSON.stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [path.join(root, 'deploy', 'prometheus', 'alerts.yml')],
        scrape_configs: [
          { job_name: 'worker', static_configs: [{ targets: [`127.0.0.1:${port}`] }] },
        ],
      }),
    );
    const server = spawn(
      findPrometheus(),
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: 'ignore' },
    );
    /** Prometheus's HTTP API: the `data` of its answer. */
    const get = async <T>(query: string): Promise<T> => {
      const res = await fetch(`${api}/${query}`);
      return ((await res.json()) as { data: T }).data;
    };
    interface RuleState {
      name: string;
      health: string;
      lastError?: string;
      lastEvaluation?: string;
    }
    try {
      await eventually('Prometheus to scrape the worker', async () => {
        const targets = await get<{ activeTargets: { health: string }[] }>('targets').catch(
          () => null,
        );
        return targets?.activeTargets[0]?.health === 'up' ? true : undefined;
      });
      const rules = await eventually('every rule evaluated', async () => {
        const { groups } = await get<{ groups: { rules: RuleState[] }[] }>('rules');
        const all = groups.flatMap((g) => g.rules);
        return all.every((r) => r.lastEvaluation && !r.lastEvaluation.startsWith('0001'))
          ? all
          : undefined;
      });
      for (const rule of rules) assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError}`);
      // The panels that read only the worker (and `up`), over a few scrapes.
      const own = new Set(
        [workerMetrics, temporalSdkMetrics, prometheusMetrics].flatMap((m) => [
          ...m.others,
          ...m.histograms.flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
        ]),
      );
      const dashboard = JSON.parse(
        fs.readFileSync(path.join(root, 'deploy/grafana/dashboards/loyalty-ops.json'), 'utf8'),
      ) as { panels: { title: string; targets?: { expr: string }[] }[] };
      const queries = dashboard.panels.flatMap((panel) =>
        (panel.targets ?? [])
          .filter((target) => metricNamesIn(target.expr).every((name) => own.has(name)))
          .map((target) => ({ panel: panel.title, expr: target.expr })),
      );
      assert.ok(queries.length >= 10, `${queries.length} worker queries`);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      // Rules evaluated before the first scrape saw no pollers; once it has, they are quiet.
      const quiet = ['LoyaltyWorkerDown', 'LoyaltyNoWorkerPolling'];
      await eventually(`${quiet.join(' and ')} to be quiet while the worker polls`, async () => {
        const { alerts } = await get<{ alerts: { labels: { alertname: string } }[] }>('alerts');
        return alerts.some((a) => quiet.includes(a.labels.alertname)) ? undefined : true;
      });
      for (const { panel, expr } of queries) {
        const query = encodeURIComponent(expr.replaceAll('$__rate_interval', '1m'));
        const data = await get<{ result: unknown[] }>(`query?query=${query}`);
        assert.ok(data.result.length > 0, `"${panel}" has no data: ${expr}`);
      }
    } finally {
      const exited = once(server, 'exit');
      server.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
