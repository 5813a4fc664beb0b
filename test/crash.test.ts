/**
 * The worker process dies between the hold and the shipment (SIGKILL: no shutdown, an activity in
 * flight) and a new one is started: the redemption completes once, and points and stock are exact.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, startTestContext, type TestContext } from './support/context';
import { assertConsistent, balanceOf, publishProgram } from './support/ledger';
import {
  createReward,
  inventoryOf,
  memberWithPoints,
  redeem,
  redemptionProgram,
  steps,
  waitForStatus,
} from './support/redemptions';

const root = path.resolve(__dirname, '..');

describe('a worker killed mid-redemption', () => {
  let t: TestContext;
  let worker: ChildProcess | null = null;

  /** `npm run worker` as its own process, on this test's task queue and partners. */
  const startWorker = (): ChildProcess => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'workers', 'main.ts')],
      {
        cwd: root,
        env: {
          ...process.env,
          DATABASE_URL: t.config.DATABASE_URL,
          DATABASE_POOL_MAX: '3',
          TEMPORAL_ADDRESS: t.config.TEMPORAL_ADDRESS,
          TEMPORAL_TASK_QUEUE: t.config.TEMPORAL_TASK_QUEUE,
          WAREHOUSE_URL: t.config.WAREHOUSE_URL,
          GIFTCARD_URL: t.config.GIFTCARD_URL,
          WAREHOUSE_WEBHOOK_SECRET: t.config.WAREHOUSE_WEBHOOK_SECRET,
          CALLBACK_BASE_URL: t.baseUrl,
          LOG_LEVEL: 'error',
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    return child;
  };

  before(async () => {
    t = await startTestContext('crash', {}, { partners: {}, worker: false });
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    worker?.kill('SIGKILL');
    await t.stop();
  });

  it('completes once after the worker is killed while the shipment is being requested', async () => {
    const sku = await createReward(t, { pointsCost: 250, onHand: 4 });
    const memberId = await memberWithPoints(t, 1000);
    const warehouse = t.partners!.warehouse;
    // The warehouse answers slowly, so the kill lands while createShipment is in flight.
    warehouse.faults.set({ latencyMs: 3_000 });

    worker = startWorker();
    const res = await redeem(t, { memberId, rewardId: sku });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.redemptionId as string;
    await waitForStatus(t, id, 'shipment_requested', 60_000);
    assert.equal((await balanceOf(t, memberId)).held, 250, 'points held before the crash');

    const exited = once(worker, 'exit');
    worker.kill('SIGKILL');
    await exited;
    warehouse.faults.set({ latencyMs: 0 });

    worker = startWorker();
    const done = await waitForStatus(t, id, 'completed', 120_000);
    assert.deepEqual(steps(done), [
      'points_held',
      'stock_reserved',
      'shipment_requested',
      'shipped',
      'delivered',
      'completed',
    ]);
    const shipments = warehouse.list().filter((s) => s.shipmentId === id);
    assert.equal(shipments.length, 1, 'shipped once');
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 750,
      pending: 0,
      held: 0,
      debt: 0,
    });
    const stock = await inventoryOf(t, sku);
    assert.deepEqual([stock.onHand, stock.reserved], [3, 0]);
    const entries = await t
      .db<{ member_id: string; kind: string }>('ledger_entries')
      .where({ member_id: memberId })
      .orderBy('id')
      .pluck('kind');
    assert.deepEqual(entries, ['adjustment', 'hold', 'redemption']);
    await assertConsistent(t, memberId);
    await eventually('the redemption event written once', async () => {
      const rows = await t
        .db<{ type: string }>('program_events')
        .whereRaw(`payload->>'redemptionId' = ?`, [id])
        .pluck('type');
      return rows.filter((type) => type === 'redemption.completed').length === 1 ? true : undefined;
    });
  });
});
