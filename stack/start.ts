/**
 * `npm start`: Temporal (with its UI) and Postgres, migrations, the partner simulators, a worker
 * and the API, all on this machine, with data kept in LOYALTY_DATA_DIR between runs. Once all is
 * up, a process that dies is started again (with backoff, logged); one that dies while the stack
 * is starting stops the start. Ctrl-C stops everything, in order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { appSchema, loadConfig, loadStackConfig, type StackConfig } from '../config';
import { createApiKey, findActiveKey } from '../api/keys';
import { createDb, migrateLatest, redactUrl } from '../infra/db';
import { generateSecret } from '../infra/webhook-signature';
import { generateCodecKey } from '../infra/payload-codec';
import {
  assertPortsFree,
  startEmbeddedPostgres,
  startPartnerSimulators,
  startTemporal,
  waitForPoller,
} from './services';
import { ensureConsoleBuilt } from './console';
import { Supervisor } from './supervisor';
import { findTemporalCli } from './temporal-cli';
import { waitFor } from './ports';

const root = path.resolve(__dirname, '..');
const log = (message: string): void => console.log(`[stack] ${message}`);

/** Local-only password of the embedded cluster; it listens on 127.0.0.1 alone. */
const embeddedPassword = 'loyalty';

export async function runStart(): Promise<number> {
  const stack = loadStackConfig();
  const dataDir = path.resolve(root, stack.LOYALTY_DATA_DIR);
  fs.mkdirSync(dataDir, { recursive: true });
  const pidFile = path.join(dataDir, 'stack.pids.json');
  Supervisor.cleanLeftovers(pidFile, log);
  const supervisor = new Supervisor(pidFile, log);

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      log(`${reason}: stopping`);
      await supervisor.stopAll(log);
      log('stopped');
    })();
    return shuttingDown;
  };
  let exitCode = 0;
  // Rejects when a process dies, so a start waiting for it gives up at once.
  let died: (err: Error) => void = () => {};
  const death = new Promise<never>((_resolve, reject) => (died = reject));
  death.catch(() => undefined);
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (signal: string): void => {
      if (shuttingDown) {
        supervisor.killAll();
        process.exit(130);
      }
      void shutdown(signal).then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    supervisor.onUnexpectedExit = (name, code, recent) => {
      log(`${name} exited unexpectedly (code ${code}). Its last output:\n${recent.join('\n')}`);
      exitCode = 1;
      died(new Error(`${name} exited (code ${code})`));
      void shutdown(`${name} died`).then(resolve);
    };
  });

  try {
    const env = { ...process.env };
    const usingEmbedded = !env.DATABASE_URL;
    const given = loadConfig(env);
    const api = `http://127.0.0.1:${given.PORT}`;
    const partners = planPartners(env, stack, dataDir);
    await assertPortsFree({
      PORT: given.PORT,
      TEMPORAL_PORT: stack.TEMPORAL_PORT,
      TEMPORAL_UI_PORT: stack.TEMPORAL_UI_PORT,
      ...(usingEmbedded ? { EMBEDDED_POSTGRES_PORT: stack.EMBEDDED_POSTGRES_PORT } : {}),
      ...(partners.warehouse.simulated ? { WAREHOUSE_PORT: stack.WAREHOUSE_PORT } : {}),
      ...(partners.giftCards.simulated ? { GIFTCARD_PORT: stack.GIFTCARD_PORT } : {}),
    });

    await ensureConsoleBuilt(log);
    const cli = await findTemporalCli(stack.TEMPORAL_CLI_PATH, log);
    log(`starting Temporal (${cli})`);
    env.TEMPORAL_ADDRESS = await startTemporal(supervisor, {
      cli,
      port: stack.TEMPORAL_PORT,
      uiPort: stack.TEMPORAL_UI_PORT,
      uiCodecEndpoint: `${api}/codec`,
      dbFile: path.join(dataDir, 'temporal.sqlite'),
      namespace: given.TEMPORAL_NAMESPACE,
      output: 'on-failure',
    });
    env.TEMPORAL_UI_URL = `http://127.0.0.1:${stack.TEMPORAL_UI_PORT}`;

    if (usingEmbedded) {
      log('starting embedded Postgres');
      env.DATABASE_URL = await startEmbeddedPostgres(supervisor, {
        root: path.join(dataDir, 'postgres'),
        port: stack.EMBEDDED_POSTGRES_PORT,
        password: embeddedPassword,
        database: 'loyalty',
        socket: true,
        output: 'on-failure',
      });
    }
    env.WAREHOUSE_URL = partners.warehouse.url;
    env.GIFTCARD_URL = partners.giftCards.url;
    env.CALLBACK_BASE_URL ||= api;
    // A local stack: webhook endpoints under development run on this machine.
    env.WEBHOOK_ALLOW_PRIVATE_TARGETS ||= 'true';
    env.PAYLOAD_CODEC_KEYS ||= localCodecKeys(dataDir);
    if (partners.webhookSecret) env.WAREHOUSE_WEBHOOK_SECRET = partners.webhookSecret;
    if (partners.giftCardSecret) env.GIFTCARD_WEBHOOK_SECRET = partners.giftCardSecret;
    const config = loadConfig(env);
    const adminKey = await prepareDatabase(config.DATABASE_URL, dataDir);

    if (partners.warehouse.simulated || partners.giftCards.simulated) {
      log('starting the partner simulators');
      await Promise.race([
        startPartnerSimulators(supervisor, {
          warehousePort: partners.warehouse.simulated ? stack.WAREHOUSE_PORT : undefined,
          giftCardPort: partners.giftCards.simulated ? stack.GIFTCARD_PORT : undefined,
          webhookSecret: partners.webhookSecret,
          giftCardSecret: partners.giftCardSecret,
          warehouseStateFile:
            stack.WAREHOUSE_STATE_FILE ?? path.join(dataDir, 'warehouse-shipments.jsonl'),
          logLevel: config.LOG_LEVEL,
        }),
        death,
      ]);
    }

    const tsx = ['--import', 'tsx'];
    await supervisor.start({
      name: 'worker',
      command: process.execPath,
      args: [...tsx, path.join(root, 'workers', 'main.ts')],
      env,
      cwd: root,
    });
    await Promise.race([waitForPoller(config), death]);
    await supervisor.start({
      name: 'api',
      command: process.execPath,
      args: [...tsx, path.join(root, 'api', 'server.ts')],
      env,
      cwd: root,
    });
    await Promise.race([
      waitFor('the API', async () => (await fetch(`${api}/health`)).ok, 120_000),
      death,
    ]);

    console.log(
      [
        '',
        'loyalty-ops is running:',
        `  Console      ${api}/console/   (sign in with the admin key below)`,
        `  API          ${api}   (docs ${api}/docs/)`,
        `  Temporal UI  ${env.TEMPORAL_UI_URL}`,
        `  Metrics      ${api}/metrics (API)` +
          (config.WORKER_METRICS_PORT
            ? `, http://${config.WORKER_METRICS_HOST}:${config.WORKER_METRICS_PORT}/metrics (worker)`
            : ''),
        `  Temporal     ${env.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`,
        `  Postgres     ${redactUrl(config.DATABASE_URL)}`,
        `  Warehouse    ${partners.warehouse.shown}`,
        `  Gift cards   ${partners.giftCards.shown}`,
        `  Admin key    ${adminKey}   (kept in ${path.join(dataDir, 'local-admin-key')})`,
        '',
        `Try: curl -H "Authorization: Bearer ${adminKey}" -H 'content-type: application/json' \\`,
        `       -d '{"externalId":"ext-1"}' ${api}/members`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    supervisor.keepAlive();
  } catch (err) {
    log(`could not start: ${(err as Error).message}`);
    await shutdown('start failed');
    return 1;
  }
  await stopped;
  return exitCode;
}

interface PartnerPlan {
  warehouse: { url: string; simulated: boolean; shown: string };
  giftCards: { url: string; simulated: boolean; shown: string };
  webhookSecret?: string;
  giftCardSecret?: string;
}

/**
 * The partners the app calls: the local simulators, unless WAREHOUSE_URL / GIFTCARD_URL name
 * another (a real partner replaces a simulator by configuration alone). The warehouse's callbacks
 * are signed with WAREHOUSE_WEBHOOK_SECRET when it is set, else, for the simulator, with a secret
 * made on the first run and kept in the data folder; the gift-card provider's status callbacks
 * likewise with GIFTCARD_WEBHOOK_SECRET.
 */
function planPartners(env: NodeJS.ProcessEnv, stack: StackConfig, dataDir: string): PartnerPlan {
  const partner = (variable: string, port: number): PartnerPlan['warehouse'] => {
    const local = `http://127.0.0.1:${port}`;
    const given = env[variable] || undefined;
    if (!given) return { url: local, simulated: true, shown: `${local}   (local simulator)` };
    const simulated = isLocalPort(given, port);
    const url = new URL(given).password ? redactUrl(given) : given;
    const shown = `${url}   (${simulated ? 'local simulator, ' : ''}${variable})`;
    return { url: given, simulated, shown };
  };
  const warehouse = partner('WAREHOUSE_URL', stack.WAREHOUSE_PORT);
  const giftCards = partner('GIFTCARD_URL', stack.GIFTCARD_PORT);
  let webhookSecret = env.WAREHOUSE_WEBHOOK_SECRET || undefined;
  if (!webhookSecret && warehouse.simulated)
    webhookSecret = localWebhookSecret(dataDir, 'warehouse');
  let giftCardSecret = env.GIFTCARD_WEBHOOK_SECRET || undefined;
  if (!giftCardSecret && giftCards.simulated)
    giftCardSecret = localWebhookSecret(dataDir, 'giftcard');
  if (!webhookSecret) {
    log(
      "WAREHOUSE_WEBHOOK_SECRET is unset: the API refuses warehouse callbacks (503) until it is set to the warehouse's secret",
    );
  }
  return { warehouse, giftCards, webhookSecret, giftCardSecret };
}

/** Whether `url` is plain http to this machine on `port`, where the simulator would listen. */
function isLocalPort(url: string, port: number): boolean {
  const parsed = new URL(url);
  return (
    parsed.protocol === 'http:' &&
    ['127.0.0.1', 'localhost'].includes(parsed.hostname) &&
    Number(parsed.port || 80) === port
  );
}

/** A local simulator's signing secret, created on the first run (local development only). */
function localWebhookSecret(dataDir: string, partner: 'warehouse' | 'giftcard'): string {
  const file = path.join(dataDir, `${partner}-webhook-secret`);
  const saved = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
  if (saved && appSchema.shape.WAREHOUSE_WEBHOOK_SECRET.safeParse(saved).success) return saved;
  const secret = generateSecret();
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  log(
    `created a ${partner === 'giftcard' ? 'gift-card' : partner} webhook secret (kept in ${file})`,
  );
  return secret;
}

/**
 * The local stack's payload encryption key, made on the first run and kept in the data folder
 * (local development only: lose it and the histories it encrypted cannot be read).
 */
function localCodecKeys(dataDir: string): string {
  const file = path.join(dataDir, 'payload-codec-keys');
  const saved = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
  if (saved && appSchema.shape.PAYLOAD_CODEC_KEYS.safeParse(saved).success) return saved;
  const keys = generateCodecKey('local1');
  fs.writeFileSync(file, `${keys}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  log(`created a payload encryption key (kept in ${file})`);
  return keys;
}

/**
 * Migrations, then the local admin key: created on the first run and kept in the data folder
 * (local development only; keys are stored hashed, so this file is the only copy).
 */
async function prepareDatabase(url: string, dataDir: string): Promise<string> {
  const db = createDb({ url, poolMax: 1 });
  try {
    const applied = await migrateLatest(db);
    log(
      applied.length ? `applied ${applied.length} migration(s)` : 'database schema is up to date',
    );
    const keyFile = path.join(dataDir, 'local-admin-key');
    const saved = fs.existsSync(keyFile) ? fs.readFileSync(keyFile, 'utf8').trim() : '';
    if (saved && (await findActiveKey(db, saved))) return saved;
    const { key } = await createApiKey(db, { role: 'admin', name: 'local admin (npm start)' });
    fs.writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    log('created a local admin API key');
    return key;
  } finally {
    await db.destroy();
  }
}
