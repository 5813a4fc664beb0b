/**
 * A test context on a clock the test can move: Temporal's own time-skipping test server (a real
 * in-memory Temporal service, see stack/test-server.ts), with the same real Postgres, API app,
 * API keys and in-process worker as `startTestContext`. The server does not list workflows
 * (no visibility queries: `client.workflow.list` is UNIMPLEMENTED); read states from Postgres. Workflow time (timers, `Date.now()` in
 * workflows) is the server's clock; activities, Postgres and HTTP keep the wall clock, so assert
 * on what the workflows decide and what Postgres shows, not on when it happened by the wall.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig, type AppConfig } from '../../config';
import { dataConverterOf } from '../../infra/payload-codec';
import { startTestContext, type TestContext } from './context';
import type { PartnerOptions } from './partners';
import { startPollerProxy, type PollerProxy } from './poller-proxy';
import { startTimeSkippingServer } from './time-skipping-server';

export interface TimeSkippingContext extends TestContext {
  /** The server's clock, epoch ms. */
  now: () => Promise<number>;
  /** Moves the server's clock on by `ms`, firing every timer due meanwhile. */
  skip: (ms: number) => Promise<void>;
  /** Moves the server's clock on to `atMs` (never back). */
  skipTo: (atMs: number) => Promise<void>;
}

export async function startTimeSkippingContext(
  name: string,
  overrides: Partial<AppConfig> = {},
  options: { partners?: PartnerOptions; webhooks?: boolean } = {},
): Promise<TimeSkippingContext> {
  const server = await startTimeSkippingServer();
  let proxy: PollerProxy | undefined;
  let env: TestWorkflowEnvironment | undefined;
  try {
    // The app, the worker and the readiness checks reach the server through the proxy, which
    // can say who polls (see test/support/poller-proxy.ts); the clock is moved directly.
    proxy = await startPollerProxy(server.address);
    env = await TestWorkflowEnvironment.createFromExistingServer({
      address: proxy.address,
      namespace: 'default',
      client: { dataConverter: dataConverterOf({ ...loadConfig(), ...overrides }) },
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
