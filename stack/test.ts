/**
 * `npm test`: a throwaway Temporal server and Postgres on free ports and a temporary folder (never
 * `npm start`'s), migrations, one workflow bundle for the whole run, then the suite through
 * node's test runner. `npm test -- test/members.test.ts` runs some files only.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import { loadConfig, loadStackConfig } from '../config';
import { createDb, migrateLatest } from '../infra/db';
import { freePort } from './ports';
import { startEmbeddedPostgres, startTemporal } from './services';
import { findChromium } from './chromium';
import { ensureConsoleBuilt } from './console';
import { Supervisor } from './supervisor';
import { findTemporalCli } from './temporal-cli';
import { findTemporalTestServer } from './test-server';
import { workflowPreloadModules } from '../workers/workflow-bundle';

const root = path.resolve(__dirname, '..');
const log = (message: string): void => console.log(`[test-stack] ${message}`);

function testFiles(args: string[]): string[] {
  if (args.length) return args.map((file) => path.resolve(file));
  return fs
    .readdirSync(path.join(root, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts'))
    .sort()
    .map((file) => path.join(root, 'test', file));
}

/** With DATABASE_URL set, the run gets its own database on that server, dropped afterwards. */
async function throwawayDatabase(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `loyalty_test_${process.pid}_${Date.now()}`;
  const admin = new PgClient({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const testUrl = new URL(url);
  testUrl.pathname = `/${name}`;
  return {
    url: testUrl.toString(),
    drop: async () => {
      const client = new PgClient({ connectionString: url });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export async function runTests(args: string[]): Promise<number> {
  const stack = loadStackConfig();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loyalty-ops-test-'));
  const supervisor = new Supervisor(path.join(tmp, 'stack.pids.json'));
  const cleanups: (() => Promise<void>)[] = [];
  process.on('SIGINT', () => supervisor.killAll());
  const started = Date.now();
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
    // Workers a test spawns get no metrics port unless it gives one: several may run at once.
    env.WORKER_METRICS_PORT ??= '0';
    // Test partners and webhook receivers listen on 127.0.0.1 (test/webhook-targets.test.ts
    // starts its own API with this off).
    env.WEBHOOK_ALLOW_PRIVATE_TARGETS ||= 'true';
    // The browser tests (test/console/) drive the built console.
    await ensureConsoleBuilt(log);
    const cli = await findTemporalCli(stack.TEMPORAL_CLI_PATH, log);
    env.TEMPORAL_CLI_PATH = cli;
    env.TEMPORAL_NAMESPACE = 'default';
    env.TEMPORAL_ADDRESS = await startTemporal(supervisor, {
      cli,
      port: await freePort(),
      namespace: 'default',
      output: 'on-failure',
      // Continue-as-new after 300 events instead of 4,096, so the long-lived workflows hand over
      // to new runs during the suite (and test/lifecycle.test.ts can make one do it).
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 300 },
    });
    if (env.DATABASE_URL) {
      const db = await throwawayDatabase(env.DATABASE_URL);
      env.DATABASE_URL = db.url;
      cleanups.push(db.drop);
    } else {
      env.DATABASE_URL = await startEmbeddedPostgres(supervisor, {
        root: path.join(tmp, 'postgres'),
        port: await freePort(),
        password: 'test',
        database: 'loyalty_test',
        fast: true,
        output: 'on-failure',
      });
    }
    const db = createDb({ url: loadConfig(env).DATABASE_URL, poolMax: 1 });
    await migrateLatest(db).finally(() => db.destroy());

    const bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../workflows'),
      preloadModules: workflowPreloadModules,
      logger: { trace() {}, debug() {}, info() {}, warn: log, error: log, log() {} },
    });
    env.LOYALTY_TEST_WORKFLOW_BUNDLE = path.join(tmp, 'workflow-bundle.js');
    fs.writeFileSync(env.LOYALTY_TEST_WORKFLOW_BUNDLE, bundle.code);
    log(`services up in ${Math.round((Date.now() - started) / 1000)}s; running the suite`);

    const files = testFiles(args);
    // The browser tests (test/console/) drive a system Chromium, installed here if need be.
    if (files.some((file) => file.includes(`${path.sep}console${path.sep}`))) {
      try {
        env.CHROMIUM_PATH = findChromium(log);
      } catch (err) {
        log((err as Error).message); // those tests fail with this message; the others run
      }
    }
    // The tests that set a clock (test/support/time-skipping.ts) and the workflow tests with
    // stubbed activities (test/support/workflow-harness.ts) run Temporal's test server.
    const usesTestServer = /support\/(time-skipping|workflow-harness)/;
    if (files.some((file) => usesTestServer.test(fs.readFileSync(file, 'utf8')))) {
      try {
        env.LOYALTY_TEST_SERVER_PATH = await findTemporalTestServer(
          stack.TEMPORAL_TEST_SERVER_PATH,
          log,
        );
      } catch (err) {
        log((err as Error).message);
        env.LOYALTY_TEST_SERVER_ERROR = (err as Error).message; // those tests fail with it
      }
    }
    return await new Promise<number>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--test',
          // One file at a time: the files share one database, where the newest program version
          // (a rule set) is in force for all; a file that publishes one must not change another's.
          '--test-concurrency=1',
          '--test-reporter=spec',
          '--test-timeout=300000',
          ...files,
        ],
        { cwd: root, env, stdio: 'inherit' },
      );
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } catch (err) {
    log(`could not run the suite: ${(err as Error).message}`);
    return 1;
  } finally {
    await supervisor.stopAll(() => {});
    for (const cleanup of cleanups) await cleanup().catch((err: Error) => log(err.message));
    fs.rmSync(tmp, { recursive: true, force: true });
    log(`done in ${Math.round((Date.now() - started) / 1000)}s`);
  }
}
