/**
 * docker-compose.yml and the Dockerfile hang together. No Docker needed: the files are parsed and
 * their parts checked against each other, the app's config keys and the workflows' definitions.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { configKeys, loadConfig } from '../config';
import { signatureHeaders, verifySignature } from '../infra/webhook-signature';
import { parsePartnersEnv, partnersEnvSchema } from '../partners/main';
import { searchAttributes } from '../workflows/shared';

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: string[];
  volumes?: string[];
  container_name?: string;
  healthcheck?: object;
  restart?: string;
}

const root = path.join(__dirname, '..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  version?: string;
  services: Record<string, Service>;
};
const names = Object.keys(compose.services);
const appServices = ['migrate', 'api', 'worker'];
const shared = ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE'];

function service(name: string): Service {
  const found = compose.services[name];
  assert.ok(found, `docker-compose.yml has no service ${name}`);
  return found;
}

/** Compose interpolation as `docker compose` does it with nothing set: defaults, `$$` → `$`. */
function interpolate(value: string): string {
  return value.replace(/\$\$|\$\{\w+(?::?-([^}]*))?\}/g, (match, fallback?: string) =>
    match === '$$' ? '$' : (fallback ?? ''),
  );
}

function env(name: string): Record<string, string> {
  const raw = service(name).environment ?? {};
  const pairs = Array.isArray(raw)
    ? raw.map((line) => line.split(/=(.*)/s))
    : Object.entries(raw).map(([key, value]) => [key, String(value ?? '')]);
  return Object.fromEntries(pairs.map(([key = '', value = '']) => [key, interpolate(value)]));
}

function envValue(name: string, key: string): string {
  const value = env(name)[key];
  assert.ok(value !== undefined, `${name} does not set ${key}`);
  return value;
}

/** depends_on as target → condition (the short list form means service_started). */
function dependencies(name: string): Record<string, string> {
  const raw = service(name).depends_on ?? [];
  return Array.isArray(raw)
    ? Object.fromEntries(raw.map((target) => [target, 'service_started']))
    : Object.fromEntries(Object.entries(raw).map(([t, d]) => [t, d.condition ?? '']));
}

/** The one service running `repository` (an image name without tag). */
function runnerOf(repository: string): string {
  const found = names.filter((name) => service(name).image?.split(':')[0] === repository);
  assert.equal(found.length, 1, `expected one service running ${repository}: ${found.join(', ')}`);
  return found[0] ?? '';
}

const tagOf = (name: string): string => service(name).image?.split(':')[1] ?? '';

const buildIncludes = (JSON.parse(read('tsconfig.build.json')) as { include: string[] }).include;

/**
 * A built entry point (`dist/api/server.js`) must have a TypeScript source (`api/server.ts`) in
 * a folder that `npm run build` (tsconfig.build.json) compiles.
 */
function assertBuiltFromSource(command: string[], who: string): void {
  const built = command.find((arg) => /^dist\/.+\.js$/.test(arg));
  assert.ok(command[0] === 'node' && built, `${who} runs ${command.join(' ')}`);
  const source = built.replace(/^dist\/(.+)\.js$/, '$1.ts');
  assert.ok(existsSync(path.join(root, source)), `${who} runs ${built}: no ${source}`);
  const folder = source.split('/')[0] ?? '';
  assert.ok(buildIncludes.includes(folder), `${who}: tsconfig.build.json does not build ${folder}`);
}

describe('docker-compose.yml', () => {
  test('is a Compose spec file whose dependencies all exist', () => {
    assert.equal(compose.version, undefined, 'the Compose spec has no top-level version');
    for (const name of names) {
      for (const target of Object.keys(dependencies(name))) {
        assert.ok(names.includes(target), `${name} depends on missing ${target}`);
      }
    }
  });

  test('waits for one-shot jobs to succeed and for long-running services to be healthy', () => {
    const oneShot = names.filter((name) => service(name).restart === 'no');
    assert.deepEqual(oneShot.sort(), ['migrate', 'temporal-schema', 'temporal-setup']);
    assert.ok(service('postgres').healthcheck, 'postgres has a healthcheck');
    for (const name of names) {
      for (const [target, condition] of Object.entries(dependencies(name))) {
        if (oneShot.includes(target)) {
          assert.equal(condition, 'service_completed_successfully', `${name} → ${target}`);
        } else if (service(target).healthcheck) {
          assert.equal(condition, 'service_healthy', `${name} → ${target}`);
        }
      }
    }
    const required: Record<string, string[]> = {
      'temporal-schema': ['postgres'],
      temporal: ['temporal-schema'],
      'temporal-setup': ['temporal'],
      migrate: ['postgres'],
      api: ['migrate', 'temporal-setup'],
      worker: ['migrate', 'temporal-setup'],
    };
    for (const [name, targets] of Object.entries(required)) {
      for (const target of targets) assert.ok(dependencies(name)[target], `${name} → ${target}`);
    }
  });

  test('uses official images with pinned tags, admin-tools matching the server', () => {
    const official =
      /^(postgres|temporalio\/(server|admin-tools|ui)|prom\/prometheus|grafana\/grafana):(?!latest$)[\w.-]+$/;
    for (const name of names.filter((n) => !service(n).build)) {
      assert.match(service(name).image ?? '', official, name);
    }
    assert.equal(tagOf(runnerOf('postgres')), '17');
    const server = tagOf(runnerOf('temporalio/server'));
    const [major = 0, minor = 0] = server.split('.').map(Number);
    assert.ok(major * 1000 + minor >= 1029, `Temporal server ${server} is older than 1.29`);
    for (const job of ['temporal-schema', 'temporal-setup']) {
      assert.equal(service(job).image, `temporalio/admin-tools:${server}`, job);
    }
    assert.match(tagOf(runnerOf('temporalio/ui')), /^2\.\d+\.\d+$/);
  });

  test('runs migrate, api and scalable workers from one image built from the Dockerfile', () => {
    const { build, image } = service('api');
    for (const name of appServices) assert.deepEqual(service(name).build, build, name);
    for (const name of appServices) assert.equal(service(name).image, image, name);
    assert.ok(build, 'the app services build their image');
    const context = typeof build === 'string' ? build : (build.context ?? '.');
    const dockerfile = typeof build === 'string' ? undefined : build.dockerfile;
    assert.ok(existsSync(path.join(root, context, dockerfile ?? 'Dockerfile')));
    for (const name of appServices) assertBuiltFromSource(service(name).command ?? [], name);
    assert.equal(service('worker').container_name, undefined, 'worker scales: no container_name');
    assert.equal(service('worker').ports, undefined, 'worker scales: no published port');
  });

  test('gives the app services the same settings, all of them ones the app knows', () => {
    for (const key of shared) {
      const values = new Set(appServices.map((name) => envValue(name, key)));
      assert.equal(values.size, 1, `${key} differs: ${[...values].join(' / ')}`);
    }
    for (const name of appServices) {
      const unknown = Object.keys(env(name)).filter((key) => !configKeys.includes(key));
      assert.deepEqual(unknown, [], `${name} sets keys config/index.ts does not declare`);
    }
  });

  test('points every client at the Temporal frontend and links to the published UI', () => {
    const temporal = runnerOf('temporalio/server');
    for (const name of [...appServices, 'temporal-setup', 'temporal-ui']) {
      assert.equal(envValue(name, 'TEMPORAL_ADDRESS'), `${temporal}:7233`, name);
    }
    assert.ok(service(temporal).ports?.includes('7233:7233'), 'the frontend is published');
    const ui = `${new URL(envValue('api', 'TEMPORAL_UI_URL')).port}:8080`;
    assert.ok(service(runnerOf('temporalio/ui')).ports?.includes(ui), `UI published as ${ui}`);
  });

  test('connects the app and Temporal to what the postgres service creates', () => {
    const postgres = runnerOf('postgres');
    const created = env(postgres);
    const url = new URL(envValue('api', 'DATABASE_URL'));
    assert.equal(url.protocol, 'postgres:');
    assert.equal(url.hostname, postgres);
    assert.equal(url.username, created.POSTGRES_USER ?? 'postgres');
    assert.equal(decodeURIComponent(url.password), created.POSTGRES_PASSWORD);
    assert.equal(url.pathname, `/${created.POSTGRES_DB ?? url.username}`);
    const temporal = env(runnerOf('temporalio/server'));
    assert.equal(temporal.POSTGRES_SEEDS, postgres);
    assert.equal(temporal.POSTGRES_USER, url.username);
    assert.equal(temporal.POSTGRES_PWD, created.POSTGRES_PASSWORD);
    assert.notEqual(temporal.DBNAME, created.POSTGRES_DB, 'Temporal has its own database');
    const schemaJob = env('temporal-schema');
    for (const key of ['DB', 'DB_PORT', 'POSTGRES_SEEDS', 'DBNAME', 'VISIBILITY_DBNAME']) {
      assert.equal(schemaJob[key], temporal[key], `temporal-schema and temporal differ on ${key}`);
    }
  });

  test('registers exactly the search attributes the workflows set, on their namespace', () => {
    const pair = (name: string, type: string): string =>
      `${name}=${type.replace(/_/g, '').toLowerCase()}`;
    const registered = envValue('temporal-setup', 'SEARCH_ATTRIBUTES')
      .split(/\s+/)
      .map((entry) => pair(entry.split('=')[0] ?? '', entry.split('=')[1] ?? ''));
    const declared = Object.values(searchAttributes).map((key) => pair(key.name, key.type));
    assert.deepEqual(registered.sort(), declared.sort());
    const namespace = envValue('temporal-setup', 'TEMPORAL_NAMESPACE');
    assert.equal(namespace, envValue('api', 'TEMPORAL_NAMESPACE'));
  });

  test('runs the partner simulators from the app image, reachable where the app calls them', () => {
    const partners = service('partners');
    assert.deepEqual(partners.build, service('api').build, 'built like the app services');
    assert.equal(partners.image, service('api').image, 'the app image');
    assertBuiltFromSource(partners.command ?? [], 'partners');
    assert.equal(partners.command?.at(-1), 'dist/partners/main.js');
    const known = Object.keys(partnersEnvSchema.shape);
    const unknown = Object.keys(env('partners')).filter((key) => !known.includes(key));
    assert.deepEqual(unknown, [], 'partners sets keys partners/main.ts does not read');
    const settings = parsePartnersEnv(env('partners'));
    assert.equal(settings.PARTNERS_HOST, '0.0.0.0', 'listens beyond its own container');
    const secret = settings.WAREHOUSE_WEBHOOK_SECRET;
    assert.ok(secret, 'the warehouse signs its callbacks');
    const signed = signatureHeaders(secret, 'msg_compose', '{}');
    assert.equal(verifySignature([secret], signed, '{}').ok, true, 'a usable default secret');
    assert.ok(partners.healthcheck, 'partners has a healthcheck');

    const api = loadConfig(env('api'));
    for (const name of ['api', 'worker']) {
      const config = loadConfig(env(name));
      assert.equal(config.WAREHOUSE_URL, `http://partners:${settings.WAREHOUSE_PORT}`, name);
      assert.equal(config.GIFTCARD_URL, `http://partners:${settings.GIFTCARD_PORT}`, name);
      assert.equal(config.WAREHOUSE_WEBHOOK_SECRET, secret, `${name} verifies what partners signs`);
      assert.equal(config.CALLBACK_BASE_URL, `http://api:${api.PORT}`, `${name}: callbacks to api`);
      assert.equal(dependencies(name).partners, 'service_healthy', `${name} → partners`);
    }
  });

  test('runs Prometheus with the shipped config and rules, scraping the API and every worker', () => {
    const prometheus = runnerOf('prom/prometheus');
    const configFile = (service(prometheus).command ?? [])
      .find((arg) => arg.startsWith('--config.file='))
      ?.split('=')[1];
    assert.ok(configFile, 'prometheus is given its config file');
    const local = mountedFrom(prometheus, configFile);
    assert.equal(local, path.join('deploy', 'prometheus', 'prometheus.yml'));
    const config = parse(read(local)) as {
      rule_files: string[];
      scrape_configs: {
        job_name: string;
        static_configs?: { targets: string[] }[];
        dns_sd_configs?: { names: string[]; port: number }[];
      }[];
    };
    for (const rules of config.rule_files) {
      const file = mountedFrom(prometheus, path.posix.join(path.posix.dirname(configFile), rules));
      assert.ok(existsSync(path.join(root, file)), `rule file ${file}`);
    }
    const job = (name: string) => config.scrape_configs.find((c) => c.job_name === name);
    const api = loadConfig(env('api'));
    assert.deepEqual(job('api')?.static_configs?.[0]?.targets, [`api:${api.PORT}`]);
    const worker = loadConfig(env('worker'));
    assert.equal(worker.WORKER_METRICS_HOST, '0.0.0.0', 'the worker serves metrics to others');
    const discovery = job('worker')?.dns_sd_configs?.[0];
    assert.deepEqual(discovery?.names, ['worker'], 'every worker replica, by the service name');
    assert.equal(discovery.port, worker.WORKER_METRICS_PORT);
  });

  test('runs Grafana provisioned with the dashboard and Prometheus as its data source', () => {
    const grafana = runnerOf('grafana/grafana');
    const provisioning = mountedFrom(grafana, '/etc/grafana/provisioning');
    const sources = parse(read(path.join(provisioning, 'datasources', 'prometheus.yml'))) as {
      datasources: { type: string; url: string }[];
    };
    const prometheus = runnerOf('prom/prometheus');
    assert.deepEqual(
      sources.datasources.map((s) => [s.type, s.url]),
      [['prometheus', `http://${prometheus}:9090`]],
    );
    assert.ok(service(prometheus).ports?.includes('9090:9090'), 'Prometheus is published');
    const providers = parse(read(path.join(provisioning, 'dashboards', 'loyalty-ops.yml'))) as {
      providers: { options: { path: string } }[];
    };
    const dashboards = mountedFrom(grafana, providers.providers[0]?.options.path ?? '');
    assert.ok(existsSync(path.join(root, dashboards, 'loyalty-ops.json')), dashboards);
    const home = mountedFrom(
      grafana,
      envValue(grafana, 'GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH'),
    );
    assert.equal(home, path.join(dashboards, 'loyalty-ops.json'), 'opens on the dashboard');
    assert.equal(dependencies(grafana)[prometheus], 'service_healthy');
    const published = (service(grafana).ports ?? []).map((p) => p.split(':')[0]);
    assert.ok(!published.includes(String(loadConfig(env('api')).PORT)), 'not on the API port');
  });

  test('mounts the scripts its Temporal jobs run', () => {
    for (const job of ['temporal-schema', 'temporal-setup']) {
      const script = service(job).command?.find((arg) => arg.endsWith('.sh')) ?? '';
      const mounts = (service(job).volumes ?? []).map((volume) => volume.split(':'));
      const [from = '', to = ''] = mounts.find(([, t]) => script.startsWith(`${t}/`)) ?? [];
      assert.ok(existsSync(path.join(root, from, path.relative(to, script))), `${job}: ${script}`);
    }
  });
});

/** The repository path that `service` mounts at `target` (a file or folder inside a mount). */
function mountedFrom(name: string, target: string): string {
  for (const volume of service(name).volumes ?? []) {
    const [from = '', to = ''] = volume.split(':');
    if (!from.startsWith('.')) continue; // a named volume
    if (target === to || target.startsWith(`${to}/`)) {
      return path.normalize(path.join(from, path.posix.relative(to, target)));
    }
  }
  assert.fail(`${name} mounts nothing from the repository at ${target}`);
}

/** The Dockerfile's stages: the image or stage each starts FROM, its name and its instructions. */
function dockerStages(): { from: string; name: string; lines: string[] }[] {
  const text = read('Dockerfile').replace(/\\\n/g, ' ');
  return text.split(/^(?=FROM\s)/m).flatMap((stage) => {
    const [first = '', ...rest] = stage.split('\n').filter((line) => /^[A-Z]/.test(line));
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(first);
    if (!from) return [];
    return [{ from: from[1] ?? '', name: from[2] ?? '', lines: rest.map((l) => l.trim()) }];
  });
}

describe('Dockerfile', () => {
  const stages = dockerStages();
  const runtime = stages.at(-1) ?? { from: '', name: '', lines: [] };

  test('builds in stages on node:20-bookworm-slim', () => {
    assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
    for (const { from } of stages) {
      assert.ok(from === 'node:20-bookworm-slim' || stages.some((s) => s.name === from), from);
    }
  });

  test('installs with npm ci, compiles with npm run build and ships dist/', () => {
    const build = stages.find((stage) => stage.lines.includes('RUN npm run build'));
    assert.ok(build, 'a stage runs npm run build');
    const install = build.lines.indexOf('RUN npm ci');
    assert.ok(install >= 0 && install < build.lines.indexOf('RUN npm run build'), 'npm ci first');
    assert.ok(runtime.lines.some((line) => line.includes(`--from=${build.name} /app/dist`)));
  });

  test('runs the API as a non-root user with production dependencies only', () => {
    const { lines } = runtime;
    assert.ok(lines.some((line) => /^RUN npm ci --omit=dev\b/.test(line)));
    assert.ok(lines.some((line) => /^ENV .*\bNODE_ENV=production\b/.test(line)));
    const user = lines.findLast((line) => line.startsWith('USER '))?.split(/\s+/)[1] ?? 'root';
    assert.ok(!['root', '0'].includes(user), `runs as ${user}`);
    const cmd = lines.findLast((line) => line.startsWith('CMD ')) ?? 'CMD []';
    assertBuiltFromSource(JSON.parse(cmd.slice(4)) as string[], 'the image');
  });
});
