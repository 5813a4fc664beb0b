/**
 * A test context on a clock the test can move: Temporal's own time-skipping test server (a real
 * in-memory Temporal service, see stack/test-server.ts), with the same real Postgres, API app,
 * API keys and in-process worker as `startTestContext`. The server does not list workflows
 * (no visibility queries: `client.workflow.list` is UNIMPLEMENTED); read states from Postgres. Workflow time (timers, `Date.now()` in
 * workflows) is the server's clock; activities, Postgres and HTTP keep the wall clock, so assert
 * on what the workflows decide and what Postgres shows, not on when it happened by the wall.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import type { AppConfig } from '../../config';
import { searchAttributes } from '../../workflows/shared';
import { startTestContext, type TestContext } from './context';
import type { PartnerOptions } from './partners';
import { startPollerProxy, type PollerProxy } from './poller-proxy';

const { IndexedValueType } = temporal.api.enums.v1;

export interface TimeSkippingContext extends TestContext {
  /** The server's clock, epoch ms. */
  now: () => Promise<number>;
  /** Moves the server's clock on by `ms`, firing every timer due meanwhile. */
  skip: (ms: number) => Promise<void>;
  /** Moves the server's clock on to `atMs` (never back). */
  skipTo: (atMs: number) => Promise<void>;
}

function testServerPath(): string {
  const path = process.env.LOYALTY_TEST_SERVER_PATH;
  if (path) return path;
  throw new Error(
    process.env.LOYALTY_TEST_SERVER_ERROR ??
      'LOYALTY_TEST_SERVER_PATH is unset: run this file through `npm test -- <file>`, which provides Temporal’s test server.',
  );
}

/**
 * The test server knows only its built-in search attributes; our workflows upsert their own
 * (`MemberStatus`, `RuleChangeState`, `LaunchState`...), which it refuses unless registered.
 */
async function registerSearchAttributes(env: TestWorkflowEnvironment): Promise<void> {
  const types: Record<string, temporal.api.enums.v1.IndexedValueType> = {
    KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
    DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
    BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  };
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(
      Object.values(searchAttributes).map((key) => {
        const type = types[key.type];
        if (type === undefined) throw new Error(`search attribute ${key.name}: type ${key.type}?`);
        return [key.name, type];
      }),
    ),
  });
}

export async function startTimeSkippingContext(
  name: string,
  overrides: Partial<AppConfig> = {},
  options: { partners?: PartnerOptions; webhooks?: boolean } = {},
): Promise<TimeSkippingContext> {
  const server = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerPath() } },
  });
  let proxy: PollerProxy | undefined;
  let env: TestWorkflowEnvironment | undefined;
  try {
    await registerSearchAttributes(server);
    // The app, the worker and the readiness checks reach the server through the proxy, which
    // can say who polls (see test/support/poller-proxy.ts); the clock is moved directly.
    proxy = await startPollerProxy(server.address);
    env = await TestWorkflowEnvironment.createFromExistingServer({
      address: proxy.address,
      namespace: 'default',
    });
  } catch (err) {
    await env?.teardown();
    proxy?.close();
    await server.teardown();
    throw err;
  }
  const context = await startTestContext(
    name,
    // The test server has the one namespace, `default`.
    { TEMPORAL_NAMESPACE: 'default', ...overrides },
    { ...options, env },
  );
  const now = () => server.currentTimeMs();
  const skip = (ms: number) => server.sleep(ms);
  const skipTo = async (atMs: number) => {
    const ahead = atMs - (await now());
    if (ahead > 0) await skip(ahead);
  };
  const stop = async () => {
    await context.stop();
    proxy.close();
    await server.teardown();
  };
  return { ...context, now, skip, skipTo, stop };
}
