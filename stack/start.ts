/**
 * `npm start`: Temporal (with its UI) and Postgres, migrations, a worker and the API, all on this
 * machine, with data kept in LOYALTY_DATA_DIR between runs. Ctrl-C stops everything, in order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, loadStackConfig } from '../config';
import { createApiKey, findActiveKey } from '../api/keys';
import { createDb, migrateLatest, redactUrl } from '../infra/db';
import { assertPortsFree, startEmbeddedPostgres, startTemporal, waitForPoller } from './services';
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
  const supervisor = new Supervisor(pidFile);

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
      void shutdown(`${name} died`).then(resolve);
    };
  });

  try {
    const env = { ...process.env };
    const usingEmbedded = !env.DATABASE_URL;
    const given = loadConfig(env);
    await assertPortsFree({
      PORT: given.PORT,
      TEMPORAL_PORT: stack.TEMPORAL_PORT,
      TEMPORAL_UI_PORT: stack.TEMPORAL_UI_PORT,
      ...(usingEmbedded ? { EMBEDDED_POSTGRES_PORT: stack.EMBEDDED_POSTGRES_PORT } : {}),
    });

    const cli = await findTemporalCli(stack.TEMPORAL_CLI_PATH, log);
    log(`starting Temporal (${cli})`);
    env.TEMPORAL_ADDRESS = await startTemporal(supervisor, {
      cli,
      port: stack.TEMPORAL_PORT,
      uiPort: stack.TEMPORAL_UI_PORT,
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
        output: 'on-failure',
      });
    }
    const config = loadConfig(env);
    const adminKey = await prepareDatabase(config.DATABASE_URL, dataDir);

    const tsx = ['--import', 'tsx'];
    await supervisor.start({
      name: 'worker',
      command: process.execPath,
      args: [...tsx, path.join(root, 'workers', 'main.ts')],
      env,
      cwd: root,
    });
    await waitForPoller(config);
    await supervisor.start({
      name: 'api',
      command: process.execPath,
      args: [...tsx, path.join(root, 'api', 'server.ts')],
      env,
      cwd: root,
    });
    const api = `http://127.0.0.1:${config.PORT}`;
    await waitFor('the API', async () => (await fetch(`${api}/health`)).ok, 120_000);

    console.log(
      [
        '',
        'loyalty-ops is running:',
        `  API          ${api}   (docs ${api}/docs/)`,
        `  Temporal UI  ${env.TEMPORAL_UI_URL}`,
        `  Metrics      ${api}/metrics`,
        `  Temporal     ${env.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`,
        `  Postgres     ${redactUrl(config.DATABASE_URL)}`,
        `  Admin key    ${adminKey}   (kept in ${path.join(dataDir, 'local-admin-key')})`,
        '',
        `Try: curl -H "Authorization: Bearer ${adminKey}" -H 'content-type: application/json' \\`,
        `       -d '{"externalId":"ext-1"}' ${api}/members`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    log(`could not start: ${(err as Error).message}`);
    await shutdown('start failed');
    return 1;
  }
  await stopped;
  return exitCode;
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
