/**
 * Deliver or give back, never both, when partners lose their answers: the warehouse or the
 * gift-card provider does the work, answers 500 (`failAfterNext`), and the program's partner
 * retries (3 tries) run out. And a parcel that ships but is never delivered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { workflowIds } from '../workflows/shared';
import {
  eventually,
  startTestContext,
  type ApiResponse,
  type TestContext,
} from './support/context';
import { assertConsistent, balanceOf, publishProgram } from './support/ledger';
import {
  createReward,
  inventoryOf,
  memberWithPoints,
  programEvents,
  redeem,
  redemptionProgram,
  steps,
  waitForStatus,
} from './support/redemptions';

const tries = redemptionProgram.redemption!.partnerAttempts!;

/** The simulator as a client sees it, over HTTP. */
async function partnerGet(baseUrl: string, path: string) {
  const res = await fetch(new URL(path, baseUrl));
  assert.equal(res.status, 200, path);
  return (await res.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
}

const shipmentsOf = async (t: TestContext, id: string) =>
  (
    (await partnerGet(t.partners!.warehouse.url, '/shipments')).shipments as {
      shipmentId: string;
      status: string;
    }[]
  ).filter((s) => s.shipmentId === id);

describe('partners that lose every answer, with a warehouse that ships at once', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('redemption-faults', {}, { partners: {} });
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  it('the warehouse took it and it left: the redemption goes on, nothing is given back', async () => {
    const sku = await createReward(t, { pointsCost: 300, onHand: 2 });
    const memberId = await memberWithPoints(t, 1000);
    t.partners!.warehouse.faults.set({ failAfterNext: tries });
    const res = await redeem(t, { memberId, rewardId: sku });
    const id = res.body.redemptionId as string;
    const done = await waitForStatus(t, id, 'completed');
    assert.equal(t.partners!.warehouse.faults.settings().failAfterNext, 0, 'every answer lost');
    assert.deepEqual(steps(done), [
      'points_held',
      'stock_reserved',
      'shipment_requested',
      'shipment_unconfirmed',
      'shipment_confirmed',
      'shipped',
      'delivered',
      'completed',
    ]);
    const shipments = await shipmentsOf(t, id);
    assert.deepEqual(
      shipments.map((s) => s.status),
      ['delivered'],
    );
    assert.equal(done.live.shipment.trackingNumber, t.partners!.warehouse.get(id).trackingNumber);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 700,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.deepEqual(await inventoryOf(t, sku).then((i) => [i.onHand, i.reserved]), [1, 0]);
    await assertConsistent(t, memberId);
  });

  it('the provider issued the card but every answer was lost: voided, float and points back', async () => {
    const rewardId = await createReward(t, {
      kind: 'gift_card',
      pointsCost: 200,
      denomination: 40,
    });
    const cards = t.partners!.giftcards;
    const float = (await partnerGet(cards.url, '/float')).balance as number;
    const memberId = await memberWithPoints(t, 500);
    cards.faults.set({ failAfterNext: tries });
    const res = await redeem(t, { memberId, rewardId });
    const id = res.body.redemptionId as string;
    const failed = await waitForStatus(t, id, 'failed');
    assert.equal(cards.faults.settings().failAfterNext, 0, 'every answer lost');
    assert.match(failed.reason, /giftco answered 500/);
    assert.deepEqual(failed.timeline.at(-1).detail.undone, ['gift card voided', 'points released']);
    assert.equal(failed.live.giftCard, null, 'no card for the member');

    const issued = (await partnerGet(cards.url, '/_control/cards')).cards as {
      reference?: string;
      status: string;
    }[];
    assert.deepEqual(
      issued.filter((c) => c.reference === id).map((c) => c.status),
      ['voided'],
      'the card issued under the key was voided',
    );
    assert.equal((await partnerGet(cards.url, '/float')).balance, float, 'the float is whole');
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 500,
      pending: 0,
      held: 0,
      debt: 0,
    });
    const saved = await t.db('gift_cards').where({ redemption_id: id });
    assert.equal(saved.length, 0);
    await assertConsistent(t, memberId);
  });
});

describe('partners that lose every answer, with a warehouse that waits to be told', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext(
      'redemption-faults-manual',
      {},
      { partners: { warehouse: { autoDeliver: false } } },
    );
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  it('the warehouse took it, not shipped yet: cancelled there, stock and points given back', async () => {
    const sku = await createReward(t, { pointsCost: 100, onHand: 2 });
    const memberId = await memberWithPoints(t, 1000);
    t.partners!.warehouse.faults.set({ failAfterNext: tries });
    const res = await redeem(t, { memberId, rewardId: sku });
    const id = res.body.redemptionId as string;
    const failed = await waitForStatus(t, id, 'failed');
    assert.equal(t.partners!.warehouse.faults.settings().failAfterNext, 0, 'every answer lost');
    assert.match(failed.reason, /warehouse answered 500/);
    assert.deepEqual(steps(failed).slice(-2), ['shipment_unconfirmed', 'failed']);
    assert.deepEqual(failed.timeline.at(-1).detail.undone, [
      'shipment cancelled',
      'stock released',
      'points released',
    ]);
    assert.deepEqual(
      (await shipmentsOf(t, id)).map((s) => s.status),
      ['cancelled'],
    );
    assert.throws(() => t.partners!.warehouse.ship(id), /cancelled/, 'it can never ship now');
    assert.deepEqual(await inventoryOf(t, sku).then((i) => [i.onHand, i.reserved]), [2, 0]);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 1000,
      pending: 0,
      held: 0,
      debt: 0,
    });
  });

  it('a parcel shipped and never delivered ends lost after lostAfter: the points come back', async () => {
    const sku = await createReward(t, { pointsCost: 100, onHand: 2 });
    const memberId = await memberWithPoints(t, 1000);
    const res = await redeem(t, { memberId, rewardId: sku });
    const id = res.body.redemptionId as string;
    await eventually('the warehouse to accept', () =>
      Promise.resolve(t.partners!.warehouse.list().some((s) => s.shipmentId === id) || undefined),
    );
    t.partners!.warehouse.ship(id);
    await waitForStatus(t, id, 'shipped');
    t.partners!.warehouse.lose(id);
    assert.equal((await balanceOf(t, memberId)).held, 100, 'held while it may still arrive');

    const lost = await waitForStatus(t, id, 'lost', 20_000);
    assert.deepEqual(steps(lost).slice(-4), [
      'shipment_requested',
      'shipped',
      'sla_breached',
      'lost',
    ]);
    const shippedAt = Date.parse(
      lost.timeline.find((s: { step: string }) => s.step === 'shipped').at,
    );
    assert.ok(Date.parse(lost.timeline.at(-1).at) - shippedAt >= 8000, 'not before lostAfter');
    assert.equal(lost.live.failureType, 'Lost');
    assert.match(lost.reason, /not delivered within 8 seconds: lost, the points are given back/);
    assert.deepEqual(lost.timeline.at(-1).detail.undone, ['points released']);
    // The SLA credit stays; the held points come back; the stock has left the shelf.
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 1000 + 100,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.deepEqual(await inventoryOf(t, sku).then((i) => [i.onHand, i.reserved]), [1, 0]);
    assert.deepEqual((await programEvents(t, id)).slice(-2), [
      'redemption.sla_breached',
      'redemption.lost',
    ]);
    const description = await t.env.client.workflow
      .getHandle(workflowIds.redemption(id))
      .describe();
    assert.equal(description.status.name, 'COMPLETED');
    assert.deepEqual(description.searchAttributes.RedemptionStatus, ['lost']);
    const listed = await t.api('GET', `/redemptions?status=lost&memberId=${memberId}`);
    assert.deepEqual(
      listed.body.redemptions.map((r: { redemptionId: string }) => r.redemptionId),
      [id],
    );
    await assertConsistent(t, memberId);

    // It turns up after all: not ignored. Recorded once for ops (the step, an event, a metric).
    const lateCount = async () => {
      const text = (await t.api('GET', '/metrics', { key: null })).body as string;
      const line = /^loyalty_redemption_delivered_after_lost_total (\d+)/m.exec(text);
      return Number(line?.[1] ?? NaN);
    };
    const before = await lateCount();
    t.partners!.warehouse.deliver(id);
    const late = await eventually('the late delivery to be recorded', async () => {
      const view = await t.api('GET', `/redemptions/${id}`);
      const body = view.body;
      return steps(body).includes('delivered_after_lost') ? (body as unknown) : undefined;
    });
    const view = late as ApiResponse['body'];
    assert.equal(view.status, 'lost', 'still lost: the points were given back');
    const step = view.timeline.at(-1);
    assert.equal(step.step, 'delivered_after_lost');
    assert.equal(step.actor, 'partner:warehouse');
    assert.match(step.reason, /member has the parcel and the points given back/);
    assert.equal((await programEvents(t, id)).at(-1), 'redemption.delivered_after_lost');
    assert.equal(await lateCount(), before + 1);
    assert.equal((await balanceOf(t, memberId)).available, 1100, 'nothing taken back by itself');
  });
});
