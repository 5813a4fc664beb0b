/**
 * A redemption's steps are written by the activities whose effects they describe, in the same
 * transaction: an activity retried after its commit writes nothing twice, an effect refused
 * writes no step, and an answer that decides nothing (out of stock) writes none either. Run
 * against the real Postgres, as the worker runs them (no Temporal needed).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createInventoryActivities } from '../activities/inventory';
import { createRedemptionActivities } from '../activities/redemptions';
import { redemptionStatuses, type TimelineStep } from '../domain/redemption';
import {
  createRedemption,
  findRedemptionRow,
  stepsOf,
  type StepInput,
} from '../redemptions/records';
import { startTestContext, type TestContext } from './support/context';
import { assertConsistent, balanceOf, publishProgram } from './support/ledger';
import {
  createReward,
  inventoryOf,
  memberWithPoints,
  programEvents,
  redemptionProgram,
} from './support/redemptions';

describe('redemption steps written with their effects', () => {
  let t: TestContext;
  let activities: ReturnType<typeof createRedemptionActivities> &
    ReturnType<typeof createInventoryActivities>;
  before(async () => {
    t = await startTestContext('redemption-steps', {}, { worker: false });
    await publishProgram(t, redemptionProgram);
    activities = {
      ...createRedemptionActivities({ db: t.db }),
      ...createInventoryActivities({ db: t.db }),
    };
  });
  after(async () => {
    await t.stop();
  });

  const asked = async (memberId: string, rewardId: string) => {
    const redemptionId = randomUUID();
    await createRedemption(t.db, {
      id: redemptionId,
      memberId,
      rewardId,
      quantity: 1,
      backorder: false,
      requestHash: redemptionId,
      actor: 'ops:test',
    });
    const ids = { redemptionId, memberId };
    const step = (
      seq: number,
      name: TimelineStep['status'],
      detail: Record<string, unknown> = {},
    ): StepInput => ({
      ...ids,
      seq,
      step: { status: name, at: Date.now(), detail },
      status: redemptionStatuses.find((s) => s === name) ?? null,
      reason: null,
    });
    return { ids, step };
  };
  const written = async (id: string) => (await stepsOf(t.db, id)).map((s) => s.step);

  it('each effect and its steps happen once, however often the activity runs', async () => {
    const sku = await createReward(t, { pointsCost: 100, onHand: 1 });
    const memberId = await memberWithPoints(t, 500);
    const { ids, step } = await asked(memberId, sku);

    const held = [step(1, 'points_held', { points: 100, tier: 'Member', priority: 0 })];
    for (let i = 0; i < 2; i++) {
      await activities.holdPoints({ ...ids, points: 100, actor: 'ops:test', steps: held });
    }
    assert.equal((await balanceOf(t, memberId)).held, 100);
    const row = await findRedemptionRow(t.db, ids.redemptionId);
    assert.deepEqual([row?.status, row?.points, row?.tier], ['points_held', 100, 'Member']);

    const reserved = [step(2, 'stock_reserved', { sku }), step(3, 'shipment_requested')];
    for (let i = 0; i < 2; i++) {
      const stock = await activities.reserveStock({ ...ids, sku, quantity: 1, steps: reserved });
      assert.equal(stock.status, 'reserved');
    }
    assert.deepEqual(await inventoryOf(t, sku).then((s) => [s.onHand, s.reserved]), [1, 1]);

    const shipped = [step(4, 'shipped', { trackingNumber: 'T-1' })];
    for (let i = 0; i < 2; i++) await activities.shipStock({ ...ids, steps: shipped });
    assert.deepEqual(await inventoryOf(t, sku).then((s) => [s.onHand, s.reserved]), [0, 0]);

    const redeemed = [step(5, 'delivered'), step(6, 'completed', { points: 100 })];
    for (let i = 0; i < 2; i++) await activities.redeemPoints({ ...ids, steps: redeemed });

    assert.deepEqual(await written(ids.redemptionId), [
      'points_held',
      'stock_reserved',
      'shipment_requested',
      'shipped',
      'delivered',
      'completed',
    ]);
    assert.equal((await findRedemptionRow(t.db, ids.redemptionId))?.status, 'completed');
    assert.deepEqual(await programEvents(t, ids.redemptionId), [
      'redemption.created',
      'redemption.shipped',
      'redemption.delivered',
      'redemption.completed',
    ]);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 400,
      pending: 0,
      held: 0,
      debt: 0,
    });
    await assertConsistent(t, memberId);
  });

  it('an effect refused or not done writes no step', async () => {
    const sku = await createReward(t, { pointsCost: 100, onHand: 0 });
    const memberId = await memberWithPoints(t, 50);
    const { ids, step } = await asked(memberId, sku);

    await assert.rejects(
      activities.holdPoints({
        ...ids,
        points: 100,
        actor: 'ops:test',
        steps: [step(1, 'points_held', { points: 100, tier: 'Member' })],
      }),
      (err: Error & { type?: string }) => err.type === 'InsufficientPoints',
    );
    const stock = await activities.reserveStock({
      ...ids,
      sku,
      quantity: 1,
      steps: [step(1, 'stock_reserved', { sku }), step(2, 'shipment_requested')],
    });
    assert.equal(stock.status, 'out_of_stock');

    assert.deepEqual(await written(ids.redemptionId), []);
    assert.equal((await findRedemptionRow(t.db, ids.redemptionId))?.status, 'requested');
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 50,
      pending: 0,
      held: 0,
      debt: 0,
    });
  });

  it('a coupon step names the code the activity assigned', async () => {
    const code = `C-${randomUUID()}`;
    const rewardId = await createReward(t, { kind: 'coupon', codes: [code] });
    const memberId = await memberWithPoints(t, 500);
    const { ids, step } = await asked(memberId, rewardId);
    for (let i = 0; i < 2; i++) {
      const coupon = await activities.assignCoupon({
        ...ids,
        rewardId,
        steps: [step(1, 'issued')],
      });
      assert.deepEqual(coupon, { status: 'assigned', code });
    }
    const steps = await stepsOf(t.db, ids.redemptionId);
    assert.deepEqual(
      steps.map((s) => [s.step, s.detail]),
      [['issued', { coupon: code }]],
    );
  });
});
