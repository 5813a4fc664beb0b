/**
 * The worker process dies (SIGKILL: no shutdown, activities in flight) and a new one is started:
 * between a redemption's hold and its shipment, the redemption completes once with points and
 * stock exact; while webhook deliveries are in flight, every event still arrives.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, startTestContext, type TestContext } from './support/context';
import { assertConsistent, balanceOf, enrol, publishProgram } from './support/ledger';
import { startReceiver } from './support/receiver';
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

  const kill = async (child: ChildProcess | null): Promise<void> => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };

  before(async () => {
    t = await startTestContext('crash', {}, { partners: {}, worker: false });
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await kill(worker);
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

    await kill(worker);
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

  it('delivers every webhook after the worker is killed with deliveries in flight', async () => {
    const receiver = await startReceiver();
    try {
      const sub = await t.api('POST', '/webhooks/subscriptions', {
        key: t.keys.partner,
        body: { url: receiver.url, eventTypes: ['points.adjusted'] },
      });
      assert.equal(sub.status, 201, JSON.stringify(sub.body));
      receiver.secrets.push(sub.body.secret as string);
      const subscriptionId = sub.body.subscription.id as string;
      // The endpoint takes each request and never answers: every attempt stays on the wire.
      receiver.mode = 'hold';
      await kill(worker);
      worker = startWorker();
      const memberId = await enrol(t);
      for (let i = 1; i <= 5; i++) {
        const res = await t.api('POST', `/members/${memberId}/adjustments`, {
          body: { points: i, reason: 'crash test' },
        });
        assert.equal(res.status, 201);
      }
      await eventually(
        'five deliveries held open by the endpoint',
        () => (receiver.held.size === 5 ? true : undefined),
        60_000,
      );
      const ids = [...receiver.held];
      const attempts = () =>
        t
          .db('webhook_attempts as a')
          .join('webhook_deliveries as d', 'd.id', 'a.delivery_id')
          .where('d.subscription_id', subscriptionId)
          .select('a.status_code');
      assert.deepEqual(await attempts(), [], 'no attempt has an outcome yet');

      await kill(worker);
      await eventually('the dead worker to drop every connection', () =>
        receiver.held.size === 0 && receiver.dropped === 5 ? true : undefined,
      );
      assert.equal(receiver.handled.length, 0, 'nothing was handled before the kill');
      receiver.mode = 'ok';
      worker = startWorker();

      await eventually(
        'all five handled',
        () => (receiver.handled.length === 5 ? true : undefined),
        90_000,
      );
      assert.deepEqual(receiver.handled.map((r) => r.id).sort(), ids.sort(), 'the same ids');
      assert.deepEqual(receiver.handled.map((r) => r.data.points).sort(), [1, 2, 3, 4, 5]);
      for (const id of ids) {
        assert.equal(receiver.arrivals.get(id), 1, `${id} handled once, by the retry`);
        assert.equal(receiver.acknowledged.get(id), 1, `${id} acknowledged`);
      }
      assert.equal(receiver.refused, 0);
      const log = await eventually('the log to show all five delivered', async () => {
        const rows: { status: string }[] = await t
          .db('webhook_deliveries')
          .where({ subscription_id: subscriptionId });
        return rows.length === 5 && rows.every((d) => d.status === 'delivered') ? rows : undefined;
      });
      assert.equal(log.length, 5);
      assert.deepEqual(
        (await attempts()).map((a: { status_code: number }) => a.status_code),
        Array(5).fill(204),
      );
    } finally {
      await receiver.close();
    }
  });
});
