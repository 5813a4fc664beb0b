/**
 * Deploying the redemption playbook while redemptions are running: a worker on the code from
 * before (test/fixtures/workflows-before-playbook.ts) starts physical redemptions and takes them
 * as far as the warehouse; it stops and a worker on today's code takes over the same task queue.
 * The redemptions already running finish on the new worker the old way (their history has no
 * patch marker), shipped and delivered or cancelled; one started after the deploy takes the new
 * playbook.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Worker } from '@temporalio/worker';
import { createWorker } from '../workers/worker';
import { workflowIds } from '../workflows/shared';
import { leanPatch, playbookPatch } from '../workflows/redemption';
import { startTestContext, type TestContext } from './support/context';
import { assertConsistent, balanceOf, publishProgram } from './support/ledger';
import {
  awaitingShipment,
  deliveredSteps,
  inventoryOf,
  redemptionProgram,
  shipAndDeliver,
  steps,
  waitForStatus,
} from './support/redemptions';

const before_ = path.join(__dirname, 'fixtures', 'workflows-before-playbook.ts');

/** What a redemption's history says about the code that ran it. */
async function historyOf(t: TestContext, id: string) {
  const history = await t.env.client.workflow.getHandle(workflowIds.redemption(id)).fetchHistory();
  const events = history.events ?? [];
  return {
    /** A playbook marker: `redemption-playbook-v2`, or its lean form since `redemption-lean-v3`. */
    patched: events.some((e) =>
      Object.values(e.markerRecordedEventAttributes?.details ?? {}).some((payloads) =>
        (payloads.payloads ?? []).some((p) => {
          const data = Buffer.from(p.data ?? []).toString();
          return data.includes(playbookPatch) || data.includes(leanPatch);
        }),
      ),
    ),
    activities: events
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((name): name is string => Boolean(name)),
  };
}

describe('redemptions running while the playbook is deployed', () => {
  let t: TestContext;
  let worker: Worker;
  let running: Promise<void>;
  const start = (workflowsPath?: string) => {
    const created = createWorker({
      config: t.config,
      connection: t.env.nativeConnection,
      db: t.db,
      temporal: t.env.client,
      workflowBundlePath: process.env.LOYALTY_TEST_WORKFLOW_BUNDLE,
      workflowsPath,
    });
    return created.then((w) => {
      worker = w;
      running = w.run();
    });
  };
  const waitingForShipment = (pointsCost: number) => awaitingShipment(t, pointsCost, 3);
  let shipping: Awaited<ReturnType<typeof waitingForShipment>>;
  let cancelling: Awaited<ReturnType<typeof waitingForShipment>>;

  before(async () => {
    t = await startTestContext(
      'redemption-deploy',
      {},
      { partners: { warehouse: { autoDeliver: false } }, worker: false },
    );
    await publishProgram(t, redemptionProgram);
    await start(before_);
    shipping = await waitingForShipment(300);
    cancelling = await waitingForShipment(200);
    for (const { id } of [shipping, cancelling]) {
      const old = await historyOf(t, id);
      assert.equal(old.patched, false, 'started on the code from before');
      assert.ok(old.activities.includes('recordRedemption'), old.activities.join());
    }
    // The deploy: the old worker stops, a worker on today's code polls the same task queue.
    worker.shutdown();
    await running;
    await start();
  });
  after(async () => {
    worker.shutdown();
    await running;
    await t.stop();
  });

  it('a redemption started on the old code is shipped, delivered and completed by the new worker', async () => {
    const { id, sku, memberId } = shipping;
    const done = await shipAndDeliver(t, id);
    assert.deepEqual(steps(done), deliveredSteps);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 700,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.deepEqual(await inventoryOf(t, sku).then((i) => [i.onHand, i.reserved]), [2, 0]);
    assert.equal(t.partners!.warehouse.get(id).status, 'delivered');
    // It went on the old way: no marker, each step still its own activity, to the end.
    const history = await historyOf(t, id);
    assert.equal(history.patched, false);
    assert.equal(history.activities.filter((a) => a === 'recordRedemption').length, 6);
    await assertConsistent(t, memberId);
  });

  it('a redemption started on the old code and cancelled after the deploy is undone', async () => {
    const { id, sku, memberId } = cancelling;
    const res = await t.api('POST', `/redemptions/${id}/cancel`, {
      key: t.keys.ops,
      body: { reason: 'changed their mind during the deploy' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'cancelled');
    const ended = await waitForStatus(t, id, 'cancelled');
    assert.deepEqual(steps(ended), [
      'points_held',
      'stock_reserved',
      'shipment_requested',
      'cancelled',
    ]);
    assert.deepEqual(ended.timeline.at(-1).detail.undone, ['stock released', 'points released']);
    assert.equal(t.partners!.warehouse.get(id).status, 'cancelled');
    assert.deepEqual(await inventoryOf(t, sku).then((i) => [i.onHand, i.reserved]), [3, 0]);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 1000,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.equal((await historyOf(t, id)).patched, false);
    await assertConsistent(t, memberId);
  });

  it('a redemption started after the deploy takes the playbook: one activity, the warehouse call', async () => {
    const { id, memberId } = await waitingForShipment(100);
    const done = await shipAndDeliver(t, id);
    assert.deepEqual(steps(done), deliveredSteps);
    assert.equal((await balanceOf(t, memberId)).available, 900);
    const history = await historyOf(t, id);
    assert.equal(history.patched, true);
    assert.deepEqual(history.activities, ['createShipment']);
  });
});
