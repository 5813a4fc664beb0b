/**
 * A test's view of the stack `npm test` started: its own task queue and in-process worker, the
 * API app on a free port, and API keys of every role. Nothing here is a stand-in: the database,
 * the Temporal server and the HTTP server are the real ones.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, type Worker } from '@temporalio/worker';
import { createApp, type App } from '../../api/app';
import { createApiKey } from '../../api/keys';
import { loadConfig, type AppConfig } from '../../config';
import { roles, type Role } from '../../domain/roles';
import { createDb, type Db } from '../../infra/db';
import { createLogger } from '../../infra/logger';
import { dataConverterOf } from '../../infra/payload-codec';
import { temporalLogger } from '../../workers/logging';
import { ensureWebhookDispatcher } from '../../workers/dispatcher';
import { createWorker } from '../../workers/worker';
import { recordHistories } from './histories';
import { startPartners, type PartnerOptions, type Partners } from './partners';

// The SDK's own logs go through our logger, at LOG_LEVEL (warn under `npm test`).
Runtime.install({
  logger: temporalLogger(createLogger({ level: loadConfig().LOG_LEVEL, name: 'temporal' })),
});

export interface TestContext {
  config: AppConfig;
  db: Db;
  env: TestWorkflowEnvironment;
  app: App;
  baseUrl: string;
  keys: Record<Role, string>;
  /** The warehouse and gift-card provider, when asked for (`{ partners: ... }`). */
  partners: Partners | null;
  api: (method: string, path: string, options?: RequestOptions) => Promise<ApiResponse>;
  stop: () => Promise<void>;
}

export interface RequestOptions {
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
}

export async function startTestContext(
  name: string,
  overrides: Partial<AppConfig> = {},
  options: {
    partners?: PartnerOptions;
    worker?: boolean;
    webhooks?: boolean;
    /** A Temporal of the test's own (the time-skipping test server); torn down by `stop`. */
    env?: TestWorkflowEnvironment;
  } = {},
): Promise<TestContext> {
  const partners = options.partners ? await startPartners(options.partners) : null;
  const config: AppConfig = {
    ...loadConfig(),
    TEMPORAL_TASK_QUEUE: `test-${name}-${randomUUID().slice(0, 8)}`,
    DATABASE_POOL_MAX: 5,
    ...partners?.config,
    ...overrides,
  };
  const env =
    options.env ??
    (await TestWorkflowEnvironment.createFromExistingServer({
      address: loadConfig().TEMPORAL_ADDRESS,
      namespace: config.TEMPORAL_NAMESPACE,
      client: { dataConverter: dataConverterOf(config) },
    }));
  const db = createDb({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX });
  const app = createApp({
    config,
    db,
    temporal: env.client,
    logger: createLogger({ level: config.LOG_LEVEL, name: `test-${name}` }),
  });
  const server: Server = app.app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  config.CALLBACK_BASE_URL = overrides.CALLBACK_BASE_URL ?? baseUrl;
  // Without one (`worker: false`), the test runs its own, e.g. as a process it can kill.
  const worker: Worker | null =
    options.worker === false
      ? null
      : await createWorker({
          config,
          connection: env.nativeConnection,
          db,
          temporal: env.client,
          workflowBundlePath: process.env.LOYALTY_TEST_WORKFLOW_BUNDLE,
        });
  const running = worker?.run();
  // The outbox dispatcher, for tests of webhooks (`webhooks: true`); others leave events be.
  if (options.webhooks) await ensureWebhookDispatcher(env.client, config);

  const keys = {} as Record<Role, string>;
  for (const role of roles)
    keys[role] = (await createApiKey(db, { role, name: `${name}-${role}` })).key;

  const api = async (method: string, path: string, options: RequestOptions = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? keys.admin : options.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body,
      redirect: 'manual',
    });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    return {
      status: response.status,
      headers: response.headers,
      body: /json/.test(type) && text ? JSON.parse(text) : text,
    };
  };

  const stop = async (): Promise<void> => {
    const recordTo = process.env.LOYALTY_RECORD_HISTORIES;
    if (recordTo)
      await recordHistories(env.client, config.TEMPORAL_TASK_QUEUE, path.resolve(recordTo));
    await app.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    worker?.shutdown();
    await running;
    await env.teardown();
    await partners?.stop();
    await db.destroy();
  };
  return { config, db, env, app, baseUrl, keys, partners, api, stop };
}

export { eventually } from './eventually';

export const uniqueId = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 12)}`;
