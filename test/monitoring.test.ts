/**
 * The shipped monitoring files: Prometheus's config and alert rules pass promtool (syntax, and
 * `promtool test rules`: each alert fires on a made-up series and stays quiet on a healthy one),
 * the Grafana dashboard and its provisioning hang together, and every query in them reads only
 * metrics that the API, the worker or the Temporal SDK export.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../config';
import { findPromtool } from '../stack/promtool';
import { metricNamesIn } from './support/prometheus';
import { startTestContext, type TestContext } from './support/context';
import {
  apiMetrics,
  prometheusMetrics,
  temporalSdkMetrics,
  workerMetrics,
} from './support/metric-names';

const root = path.resolve(__dirname, '..');
const prometheusDir = path.join(root, 'deploy', 'prometheus');
const grafanaDir = path.join(root, 'deploy', 'grafana');
const readYaml = <T>(file: string): T => parse(fs.readFileSync(file, 'utf8')) as T;

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  alert_rule_test?: { alertname: string; exp_alerts?: unknown[] | null }[];
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { expr: string; refId: string }[];
}

const rules = readYaml<{ groups: { name: string; rules: Rule[] }[] }>(
  path.join(prometheusDir, 'alerts.yml'),
).groups.flatMap((group) => group.rules);
const dashboard = JSON.parse(
  fs.readFileSync(path.join(grafanaDir, 'dashboards', 'loyalty-ops.json'), 'utf8'),
) as { uid: string; title: string; panels: Panel[]; templating: { list: { name: string }[] } };
const queryPanels = dashboard.panels.filter((panel) => panel.type !== 'row');
const dashboardExprs = queryPanels.flatMap((panel) => (panel.targets ?? []).map((t) => t.expr));

const known = [apiMetrics, workerMetrics, temporalSdkMetrics, prometheusMetrics];

/** Whether `name` is an exported metric, or a histogram's _bucket/_sum/_count series. */
function isKnown(name: string): boolean {
  const family = name.replace(/_(bucket|sum|count)$/, '');
  return known.some((m) => m.others.includes(name) || m.histograms.includes(family));
}

/** Runs promtool; answers its output, failing the test with it unless it exits 0. */
function promtool(tool: string, args: string[]): string {
  const result = spawnSync(tool, args, { encoding: 'utf8', timeout: 60_000 });
  const output = `${result.stdout}${result.stderr}`;
  assert.equal(result.status, 0, `promtool ${args.join(' ')}:\n${output}`);
  return output;
}

describe('Prometheus config and alert rules', () => {
  let tool: string;
  before(() => {
    tool = findPromtool((message) => console.log(`[monitoring] ${message}`));
  });

  it('pass promtool check rules and check config', () => {
    const checked = promtool(tool, ['check', 'rules', path.join(prometheusDir, 'alerts.yml')]);
    assert.match(checked, new RegExp(`SUCCESS: ${rules.length} rules found`));
    promtool(tool, ['check', 'config', path.join(prometheusDir, 'prometheus.yml')]);
  });

  it('fire on made-up series and stay quiet on healthy ones (promtool test rules)', () => {
    const files = ['alerts.test.yml', 'alerts.week.test.yml'].map((f) =>
      path.join(prometheusDir, f),
    );
    promtool(tool, ['test', 'rules', ...files]);
    const cases = files
      .flatMap((file) => readYaml<{ tests: RuleTest[] }>(file).tests)
      .flatMap((test) => test.alert_rule_test ?? []);
    for (const name of new Set(rules.map((rule) => rule.alert))) {
      const mine = cases.filter((c) => c.alertname === name);
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${name} is shown firing`,
      );
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${name} is shown quiet`,
      );
    }
  });

  it('cover what the programme needs watched, each with a severity, summary and description', () => {
    const names = new Set(rules.map((rule) => rule.alert));
    for (const name of [
      'LoyaltyRedemptionFailureRateHigh',
      'LoyaltyRedemptionsPastSla',
      'LoyaltyGiftCardFloatLow',
      'LoyaltyGiftCardFloatRunningOut',
      'LoyaltyWebhookEndpointFailing',
      'LoyaltyLiabilityGrowingFast',
      'LoyaltyNoWorkerPolling',
    ]) {
      assert.ok(names.has(name), `an alert ${name}`);
    }
    for (const rule of rules) {
      assert.match(rule.labels?.severity ?? '', /^(critical|warning|info)$/, rule.alert);
      assert.ok(rule.annotations?.summary, `${rule.alert} has a summary`);
      assert.ok(rule.annotations?.description, `${rule.alert} has a description`);
    }
  });

  it('scrape the API and every worker where the app serves its metrics', () => {
    const config = readYaml<{
      rule_files: string[];
      scrape_configs: {
        job_name: string;
        static_configs?: { targets: string[] }[];
        dns_sd_configs?: { names: string[]; port: number }[];
      }[];
    }>(path.join(prometheusDir, 'prometheus.yml'));
    assert.deepEqual(config.rule_files, ['alerts.yml']);
    const job = (name: string) => config.scrape_configs.find((c) => c.job_name === name);
    const defaults = loadConfig({});
    assert.deepEqual(job('api')?.static_configs?.[0]?.targets, [`api:${defaults.PORT}`]);
    assert.deepEqual(job('worker')?.dns_sd_configs?.[0], {
      ...job('worker')?.dns_sd_configs?.[0],
      names: ['worker'],
      port: defaults.WORKER_METRICS_PORT,
    });
  });
});

describe('the Grafana dashboard', () => {
  it('is a dashboard JSON whose panels all query the chosen Prometheus', () => {
    assert.equal(dashboard.uid, 'loyalty-ops');
    assert.ok(dashboard.templating.list.some((v) => v.name === 'datasource'));
    assert.ok(queryPanels.length >= 20, `${queryPanels.length} panels`);
    const ids = dashboard.panels.map((panel) => panel.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const panel of queryPanels) {
      assert.deepEqual(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, panel.title);
      assert.ok(panel.targets?.length, `${panel.title} has queries`);
      assert.ok(panel.gridPos.x + panel.gridPos.w <= 24, `${panel.title} fits the grid`);
    }
  });

  it('has queries promtool accepts as PromQL', () => {
    const tool = findPromtool();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-promql-'));
    try {
      // Each query as a recording rule, Grafana's variables as Prometheus would get them.
      const rulesFile = path.join(dir, 'dashboard.rules.yml');
      const asRules = dashboardExprs.map((expr, i) => ({
        record: `dashboard:query_${i}`,
        expr: expr.replaceAll('$__rate_interval', '1m'),
      }));
      fs.writeFileSync(rulesFile, stringify({ groups: [{ name: 'dashboard', rules: asRules }] }));
      promtool(tool, ['check', 'rules', rulesFile]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows each figure the issue asks for', () => {
    const used = new Set(dashboardExprs.flatMap(metricNamesIn));
    for (const name of [
      'loyalty_members',
      'loyalty_liability',
      'loyalty_points_issued_total',
      'loyalty_points_redeemed_total',
      'loyalty_points_expired_total',
      'loyalty_points_adjusted_total',
      'loyalty_redemptions',
      'loyalty_redemption_duration_seconds_bucket',
      'loyalty_partner_request_duration_seconds_bucket',
      'loyalty_partner_request_errors_total',
      'loyalty_webhook_attempts_total',
      'loyalty_giftcard_float',
      'loyalty_giftcard_float_days_left',
      'loyalty_rewards_low_stock',
      'temporal_num_pollers',
    ]) {
      assert.ok(used.has(name), `the dashboard shows ${name}`);
    }
  });

  it('is provisioned with a Prometheus data source and a file dashboard provider', () => {
    const sources = readYaml<{ datasources: { type: string; url: string; isDefault?: boolean }[] }>(
      path.join(grafanaDir, 'provisioning', 'datasources', 'prometheus.yml'),
    ).datasources;
    assert.deepEqual(
      sources.map((s) => [s.type, s.isDefault]),
      [['prometheus', true]],
    );
    const providers = readYaml<{ providers: { type: string; options: { path: string } }[] }>(
      path.join(grafanaDir, 'provisioning', 'dashboards', 'loyalty-ops.yml'),
    ).providers;
    assert.equal(providers[0]?.type, 'file');
  });
});

describe('metric names in the shipped queries', () => {
  const sources = [
    ...rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
    ...queryPanels.flatMap((panel) =>
      (panel.targets ?? []).map((t) => ({ where: `panel "${panel.title}"`, expr: t.expr })),
    ),
  ];

  it('are all exported by the API, the worker, the Temporal SDK or Prometheus', () => {
    assert.deepEqual(metricNamesIn('sum by (le) (rate(a_b_bucket{x="y(z)"}[5m])) > bool 2'), [
      'a_b_bucket',
    ]);
    for (const { where, expr } of sources) {
      const names = metricNamesIn(expr);
      assert.ok(names.length > 0, `${where} reads a metric`);
      const unknown = names.filter((name) => !isKnown(name));
      assert.deepEqual(unknown, [], `${where} reads metrics nobody exports: ${expr}`);
    }
  });

  describe("against the API's real /metrics", () => {
    let t: TestContext;
    before(async () => {
      t = await startTestContext('monitoring', {}, { worker: false });
    });
    after(async () => {
      await t.stop();
    });

    it('the API exports every API metric the alerts and dashboard read', async () => {
      const res = await t.api('GET', '/metrics', { key: null });
      assert.equal(res.status, 200);
      const exported = new Set(
        [...String(res.body).matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]),
      );
      const read = new Set(sources.flatMap(({ expr }) => metricNamesIn(expr)));
      const fromApi = [...apiMetrics.others, ...apiMetrics.histograms].filter(
        (name) => read.has(name) || read.has(`${name}_bucket`) || read.has(`${name}_count`),
      );
      const missing = fromApi.filter((name) => !exported.has(name));
      assert.deepEqual(missing, [], 'read by the alerts or dashboard, not on the API /metrics');
    });
  });
});
