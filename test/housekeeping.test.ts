/**
 * Housekeeping: `npm run worker` makes (or updates) the task queue's Schedule, and a run of it
 * deletes idempotency keys past IDEMPOTENCY_KEY_TTL_HOURS and callback ids past
 * INBOUND_WEBHOOK_RETENTION_HOURS, a batch at a time, keeping the recent ones. An expired key is
 * also absent to the API: the same key with another request runs instead of being refused.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ScheduleDescription } from '@temporalio/client';
import { ensureHousekeepingSchedule } from '../workers/housekeeping';
import type { housekeepingWorkflow } from '../workflows/housekeeping';
import { workflowIds } from '../workflows/shared';
import { eventually, startTestContext, uniqueId, type TestContext } from './support/context';

const root = path.resolve(__dirname, '..');
const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000);

describe('housekeeping', () => {
  let t: TestContext;
  let worker: ChildProcess | null = null;
  before(async () => {
    t = await startTestContext('housekeeping', {}, { worker: false });
  });
  after(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      const exited = once(worker, 'exit');
      worker.kill('SIGKILL');
      await exited;
    }
    await t.stop();
  });

  const scheduleId = () => workflowIds.housekeeping(t.config.TEMPORAL_TASK_QUEUE);
  const describeSchedule = () => t.env.client.schedule.getHandle(scheduleId()).describe();
  const everyMs = (d: ScheduleDescription) => Number(d.spec.intervals?.[0]?.every);

  it('the worker makes the schedule; a run prunes old rows and keeps recent ones', async () => {
    const owner = `housekeeping-${randomUUID()}`;
    const source = uniqueId('housekeeping');
    // Five old keys (past the 24 h TTL) with a batch of 2: three statements; two recent ones kept.
    const keys = [1, 2, 3, 4, 5].map((i) => ({ key: `old-${i}`, at: hoursAgo(25 + i) }));
    keys.push({ key: 'recent-1', at: hoursAgo(23) }, { key: 'recent-2', at: new Date() });
    await t
      .db('idempotency_keys')
      .insert(keys.map(({ key, at }) => ({ owner, key, request_hash: 'x', created_at: at })));
    const ids = [
      { webhook_id: 'old', received_at: hoursAgo(49) },
      { webhook_id: 'recent', received_at: hoursAgo(47) },
    ];
    await t.db('inbound_webhooks').insert(ids.map((row) => ({ source, ...row })));

    worker = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'workers', 'main.ts')], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: t.config.DATABASE_URL,
        DATABASE_POOL_MAX: '3',
        TEMPORAL_ADDRESS: t.config.TEMPORAL_ADDRESS,
        TEMPORAL_TASK_QUEUE: t.config.TEMPORAL_TASK_QUEUE,
        IDEMPOTENCY_KEY_TTL_HOURS: '24',
        INBOUND_WEBHOOK_RETENTION_HOURS: '48',
        HOUSEKEEPING_EVERY_MINUTES: '720',
        HOUSEKEEPING_BATCH_SIZE: '2',
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const schedule = await eventually(
      'the worker made the schedule',
      () => describeSchedule().catch(() => undefined),
      120_000,
    );
    assert.equal(everyMs(schedule), 720 * 60_000);
    assert.equal(schedule.action.type, 'startWorkflow');
    assert.deepEqual(schedule.action.type === 'startWorkflow' && schedule.action.args, [
      { idempotencyKeyTtlHours: 24, inboundWebhookRetentionHours: 48, batchSize: 2 },
    ]);

    // Not 12 hours from now: a run now, through the schedule, on the worker just started.
    await t.env.client.schedule.getHandle(scheduleId()).trigger();
    const run = await eventually(
      'a housekeeping run completed',
      async () => {
        const recent = (await describeSchedule()).info.recentActions.at(-1);
        if (!recent) return undefined;
        const handle = t.env.client.workflow.getHandle<typeof housekeepingWorkflow>(
          recent.action.workflow.workflowId,
        );
        return (await handle.describe()).status.name === 'COMPLETED' ? handle.result() : undefined;
      },
      60_000,
    );
    assert.ok(run.idempotencyKeys >= 5, JSON.stringify(run));
    assert.ok(run.inboundWebhooks >= 1, JSON.stringify(run));
    assert.deepEqual(await t.db('idempotency_keys').where({ owner }).orderBy('key').pluck('key'), [
      'recent-1',
      'recent-2',
    ]);
    assert.deepEqual(await t.db('inbound_webhooks').where({ source }).pluck('webhook_id'), [
      'recent',
    ]);
  });

  it('a worker started with other settings updates the schedule', async () => {
    await ensureHousekeepingSchedule(t.env.client, {
      ...t.config,
      HOUSEKEEPING_EVERY_MINUTES: 30,
      HOUSEKEEPING_BATCH_SIZE: 100,
    });
    const schedule = await describeSchedule();
    assert.equal(everyMs(schedule), 30 * 60_000);
    assert.equal(
      schedule.action.type === 'startWorkflow' &&
        (schedule.action.args?.[0] as { batchSize: number }).batchSize,
      100,
    );
  });

  it('an expired key is absent: the same key with another request runs', async () => {
    const opsKeyId = (await t.db('api_keys').where({ name: 'housekeeping-ops' }).first('id')).id;
    const idem = randomUUID();
    await t.db('idempotency_keys').insert({
      owner: opsKeyId,
      key: idem,
      request_hash: 'another request',
      status_code: 201,
      response: JSON.stringify({ old: true }),
      created_at: hoursAgo(t.config.IDEMPOTENCY_KEY_TTL_HOURS + 1),
    });
    const res = await t.api('POST', '/members', {
      key: t.keys.ops,
      body: { externalId: uniqueId('m') },
      headers: { 'Idempotency-Key': idem },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.headers.get('idempotent-replayed'), null);
  });
});
