/**
 * Workflow tests in seconds: the real workflows bundle on Temporal's time-skipping test server
 * (a real in-memory Temporal service), with the activities stubbed by the test. Stubs are typed
 * against the real factories (`createActivities`), so an activity renamed or re-typed breaks the
 * test at compile time; every call is recorded (name and input, in order), so a test asserts which
 * steps and compensations ran, in which order, with which ids, and how each answered. Local
 * activities (the Postgres steps) go to the same stubs: the worker's activities serve both kinds of
 * call. A stub may throw a domain refusal; it reaches the workflow as the real activities' does (a
 * non-retryable failure typed by its kind). An activity the test did not stub
 * fails the workflow's call (non-retryable `NotStubbed`) and the test; so does a workflow the test
 * leaves running (a test ends what it starts), and a test still running after 30 s.
 *
 * Time stands still unless the test moves it: `env.sleep(ms)` fires the timers due meanwhile, and
 * awaiting a workflow's `result()` skips to each next timer until it ends. The SDK's logs (an
 * activity failing on purpose is a warning) are kept and printed only when a test fails.
 */
import { randomUUID } from 'node:crypto';
import { activityInfo } from '@temporalio/activity';
import type { Client, WorkflowHandle, WorkflowStartOptions } from '@temporalio/client';
import { ApplicationFailure, type Workflow } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  DefaultLogger,
  makeTelemetryFilterString,
  Runtime,
  Worker,
  type LogEntry,
} from '@temporalio/worker';
import type { Activities } from '../../activities';
import { asActivityFailure } from '../../activities/refusals';
import { loadConfig } from '../../config';
import { dataConverterOf } from '../../infra/payload-codec';
import { eventually } from './eventually';
import { startTimeSkippingServer } from './time-skipping-server';

/** Stand-ins for the real activities: the real one's input and answer (or a promise of it). */
export type ActivityStubs = {
  [K in keyof Activities]?: (
    input: Parameters<Activities[K]>[0],
  ) => ReturnType<Activities[K]> | Awaited<ReturnType<Activities[K]>>;
};

export type ActivityName = keyof Activities;

export interface Call {
  name: ActivityName;
  input: unknown;
  /** Called as a local activity (run inside the workflow task: the Postgres steps). */
  local: boolean;
  /** How the stub answered, once it has: its answer, or the error the workflow was given. */
  outcome?: { answer: unknown } | { error: unknown };
}

export interface WorkflowRun {
  client: Client;
  taskQueue: string;
  /** Every activity call so far, in the order the worker started them. */
  calls: Call[];
  /** The names of the calls so far, without those in `except`. */
  names: (...except: ActivityName[]) => ActivityName[];
  /** The inputs of the calls to `name`, in order. */
  inputs: <K extends ActivityName>(name: K) => Parameters<Activities[K]>[0][];
  /** Starts a workflow on this run's task queue (ended, if still running, when the run ends). */
  start: <W extends Workflow>(
    workflowType: string,
    options: Omit<WorkflowStartOptions<W>, 'taskQueue'>,
  ) => Promise<WorkflowHandle<W>>;
}

export interface WorkflowHarness {
  env: TestWorkflowEnvironment;
  /** Runs `test` with the activities stubbed by `stubs` (one test at a time). */
  run: <T>(stubs: ActivityStubs, test: (run: WorkflowRun) => Promise<T>) => Promise<T>;
  stop: () => Promise<void>;
}

const logs: LogEntry[] = [];
Runtime.install({
  logger: new DefaultLogger('WARN', (entry) => logs.push(entry)),
  // The SDK core's own logs too (it warns that the test server lacks a newer server's features).
  telemetryOptions: {
    logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
  },
});

/** Answers `check()` once it is defined, polling often (the clock stands still meanwhile). */
export const until = <T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> => eventually(what, check, timeoutMs, 20);

/** A test runs in a second or two; one still running after this is stuck. */
const timeLimitMs = 30_000;

/** Why a test is stuck: the activities it called, and where each of its workflows waits. */
async function stuck(started: WorkflowHandle[], calls: Call[]): Promise<Error> {
  const where = await Promise.all(
    started.map(async (handle) => {
      const trace = await handle
        .query<string>('__stack_trace')
        .catch((err: Error) => `(no stack trace: ${err.message})`);
      return `${handle.workflowId} waits at:\n${trace}`;
    }),
  );
  const called = calls.map((c) => c.name).join(', ');
  return new Error(
    `stuck for ${timeLimitMs / 1000}s; activities called: ${called}\n${where.join('\n')}`,
  );
}

const stillRunning = async (handle: WorkflowHandle): Promise<string | null> =>
  (await handle.describe()).status.name === 'RUNNING' ? handle.workflowId : null;

/**
 * Ends a workflow a failed test left running. Cancelled and waited for, not terminated at once:
 * the test server leaks a time-skipping lock when a run is terminated with an activity in flight,
 * and every later test that skips time would then wait in real time.
 */
async function endQuietly(handle: WorkflowHandle): Promise<void> {
  if (!(await stillRunning(handle).catch(() => null))) return;
  await handle.cancel().catch(() => undefined);
  const ended = handle.result().then(
    () => true,
    () => true,
  );
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 5_000)));
  const done = await Promise.race([ended, waited]);
  clearTimeout(timer);
  if (!done) await handle.terminate('the test ended').catch(() => undefined);
}

export async function startWorkflowHarness(): Promise<WorkflowHarness> {
  const env = await startTimeSkippingServer();
  const taskQueue = `harness-${randomUUID().slice(0, 8)}`;
  // The test running now: its stubs, and what they were asked.
  let current: { stubs: ActivityStubs; calls: Call[]; unstubbed: string[] } | null = null;
  // One worker for the file (loading the bundle takes a second); every activity comes here.
  // Local or not: the worker's activities serve both kinds of call, and so does this table.
  // A stub may throw a domain refusal, as the real code does: it reaches the workflow as the
  // activities' `refusalsAsFailures` turns it (a non-retryable failure typed by its kind).
  const dispatch = async (input: unknown): Promise<unknown> => {
    const { activityType, isLocal } = activityInfo();
    const name = activityType as ActivityName;
    const stub = current?.stubs[name] as ((input: unknown) => unknown) | undefined;
    if (!current || !stub) {
      current?.unstubbed.push(name);
      throw ApplicationFailure.nonRetryable(`activity ${name} is not stubbed`, 'NotStubbed');
    }
    const call: Call = { name, input, local: isLocal };
    current.calls.push(call);
    try {
      const answer = await stub(input);
      call.outcome = { answer };
      return answer;
    } catch (err) {
      const error = asActivityFailure(err);
      call.outcome = { error };
      throw error;
    }
  };
  // `npm test` bundles the workflows once for the run; the same code the worker runs in the field.
  const bundlePath = process.env.LOYALTY_TEST_WORKFLOW_BUNDLE;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    dataConverter: dataConverterOf(loadConfig()),
    ...(bundlePath
      ? { workflowBundle: { codePath: bundlePath } }
      : { workflowsPath: require.resolve('../../workflows') }),
    activities: { default: dispatch },
  });
  const running = worker.run();
  const failed = running.then(() => {
    throw new Error('the worker stopped');
  });
  failed.catch(() => undefined); // raced by each test; unheard of after the last

  const run = async <T>(stubs: ActivityStubs, test: (run: WorkflowRun) => Promise<T>) => {
    const calls: Call[] = [];
    const unstubbed: string[] = [];
    current = { stubs, calls, unstubbed };
    const started: WorkflowHandle[] = [];
    const view: WorkflowRun = {
      client: env.client,
      taskQueue,
      calls,
      names: (...except) => calls.map((c) => c.name).filter((name) => !except.includes(name)),
      inputs: (name) => calls.filter((c) => c.name === name).map((c) => c.input as never),
      start: async <W extends Workflow>(
        workflowType: string,
        options: Omit<WorkflowStartOptions<W>, 'taskQueue'>,
      ) => {
        const start = { ...options, taskQueue } as WorkflowStartOptions<W>;
        const handle = await env.client.workflow.start<W>(workflowType, start);
        started.push(handle);
        return handle;
      },
    };
    logs.length = 0;
    const body = test(view);
    body.catch(() => undefined); // heard below, unless the test overran
    let overran: NodeJS.Timeout | undefined;
    const overrun = new Promise<never>((_, reject) => {
      overran = setTimeout(() => {
        void stuck(started, calls).then(reject, reject);
      }, timeLimitMs);
    });
    try {
      const answer = await Promise.race([body, failed, overrun]);
      if (unstubbed.length) throw new Error(`not stubbed: ${unstubbed.join(', ')}`);
      const left = (await Promise.all(started.map(stillRunning))).filter((id) => id !== null);
      if (left.length)
        throw new Error(`left running (a test ends its workflows): ${left.join(', ')}`);
      return answer;
    } catch (err) {
      for (const entry of logs) console.error(`[temporal ${entry.level}] ${entry.message}`);
      throw err;
    } finally {
      clearTimeout(overran);
      // A test that failed midway: the next starts on a clean slate all the same.
      for (const handle of started) await endQuietly(handle);
      current = null;
    }
  };

  const stop = async () => {
    worker.shutdown();
    await running.catch(() => undefined);
    await env.teardown();
  };
  return { env, run, stop };
}
