/**
 * Redemptions end to end: the API, the `redemption:<id>` workflow on the real Temporal server,
 * Postgres, and the warehouse and gift-card provider as real HTTP servers.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createRedemption } from '../redemptions/records';
import { workflowIds } from '../workflows/shared';
import { eventually, startTestContext, type TestContext } from './support/context';
import {
  assertConsistent,
  balanceOf,
  enrol,
  post,
  publishProgram,
  purchase,
} from './support/ledger';
import {
  awaitingShipment,
  createReward,
  inventoryOf,
  memberWithPoints,
  redeem,
  programEvents,
  redemptionProgram,
  steps,
  waitForStatus,
} from './support/redemptions';

describe('redemptions with a warehouse that ships and delivers at once', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('redemptions', {}, { partners: {} });
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  it('a physical reward: points held, stock reserved, shipped, delivered, redeemed', async () => {
    const sku = await createReward(t, { pointsCost: 300, onHand: 5 });
    const memberId = await memberWithPoints(t, 1000);
    const res = await redeem(t, { memberId, rewardId: sku });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.redemptionId as string;
    assert.equal(res.headers.get('location'), `/redemptions/${id}`);
    assert.equal(res.body.workflow.id, `redemption:${id}`);
    // Answered once the hold is written (update-with-start): no poll needed to know it.
    assert.deepEqual(
      { ...res.body.hold, status: undefined },
      { outcome: 'held', points: 300, tier: res.body.tier, status: undefined },
    );
    assert.notEqual(res.body.status, 'requested', 'the row already says the points are held');
    assert.equal(res.body.points, 300);

    const done = await waitForStatus(t, id, 'completed');
    assert.deepEqual(steps(done), [
      'points_held',
      'stock_reserved',
      'shipment_requested',
      'shipped',
      'delivered',
      'completed',
    ]);
    assert.equal(done.points, 300);
    assert.ok(done.live.shipment.trackingNumber);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 700,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.deepEqual(
      {
        onHand: (await inventoryOf(t, sku)).onHand,
        reserved: (await inventoryOf(t, sku)).reserved,
      },
      { onHand: 4, reserved: 0 },
    );
    assert.equal(t.partners!.warehouse.get(id).status, 'delivered');
    assert.deepEqual(await programEvents(t, id), [
      'redemption.created',
      'redemption.shipped',
      'redemption.delivered',
      'redemption.completed',
    ]);
    const ledger = await t.api('GET', `/members/${memberId}/ledger`);
    assert.deepEqual(
      ledger.body.entries.map((e: { kind: string }) => e.kind),
      ['adjustment', 'hold', 'redemption'],
    );
    await assertConsistent(t, memberId);

    const description = await t.env.client.workflow
      .getHandle(workflowIds.redemption(id))
      .describe();
    // Open for the return window (from delivery), its outcome already shown.
    assert.equal(description.status.name, 'RUNNING');
    assert.deepEqual(description.searchAttributes.RedemptionStatus, ['completed']);
    assert.deepEqual(description.searchAttributes.RewardSku, [sku]);

    const listed = await t.api('GET', `/redemptions?memberId=${memberId}`);
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.redemptions.map((r: { redemptionId: string }) => r.redemptionId),
      [id],
    );
    assert.match(listed.body.redemptions[0].workflow.url, /\/workflows\/redemption%3A/);
  });

  it('a double click is one redemption: same Idempotency-Key, or same redemptionId', async () => {
    const sku = await createReward(t, { pointsCost: 100, onHand: 5 });
    const memberId = await memberWithPoints(t, 1000);
    const key = `click-${randomUUID()}`;
    const answers = await Promise.all(
      [1, 2, 3].map(() => redeem(t, { memberId, rewardId: sku }, { 'idempotency-key': key })),
    );
    const ok = answers.filter((a) => a.status < 300);
    assert.ok(ok.length >= 1, JSON.stringify(answers.map((a) => a.body as unknown)));
    for (const a of answers) assert.ok([200, 201, 409].includes(a.status), JSON.stringify(a.body));
    const ids = new Set(ok.map((a) => a.body.redemptionId as string));
    assert.equal(ids.size, 1);
    const [id] = [...ids];
    await waitForStatus(t, id!, 'completed');

    const again = await redeem(t, { redemptionId: id, memberId, rewardId: sku });
    assert.equal(again.status, 200);
    assert.equal(again.body.hold.outcome, 'held', 'ended: the same answer, from Postgres');
    assert.equal(again.body.status, 'completed');
    const other = await redeem(t, { redemptionId: id, memberId, rewardId: sku, quantity: 2 });
    assert.equal(other.status, 409);
    assert.equal(other.body.errors[0].field, 'redemptionId');

    assert.equal((await balanceOf(t, memberId)).available, 900, 'points taken once');
    assert.equal((await inventoryOf(t, sku)).onHand, 4, 'shipped once');
    const rows = await t
      .db('redemptions')
      .where({ member_id: memberId })
      .count<{ count: string }[]>();
    assert.equal(Number(rows[0]!.count), 1);
  });

  it('a hold refused by the workflow is answered in the response: created, failed, with the reason', async () => {
    const sku = await createReward(t, { pointsCost: 400, onHand: 5 });
    const memberId = await memberWithPoints(t, 1000);
    // The row was written, then the API went away before starting the workflow; meanwhile the
    // member spent the points elsewhere. The retry (same id, same details) starts it.
    const id = `refused-${randomUUID()}`;
    const request = { redemptionId: id, memberId, rewardId: sku, quantity: 1, backorder: false };
    await createRedemption(t.db, {
      id,
      memberId,
      rewardId: sku,
      quantity: 1,
      backorder: false,
      requestHash: createHash('sha256').update(JSON.stringify(request)).digest('hex'),
      actor: 'ops:test',
    });
    const spent = await t.api('POST', `/members/${memberId}/adjustments`, {
      body: { points: -800, reason: 'spent elsewhere' },
    });
    assert.equal(spent.status, 201, JSON.stringify(spent.body));

    const res = await redeem(t, request);
    assert.equal(res.status, 200, JSON.stringify(res.body)); // the row was there: the same one
    assert.equal(res.body.hold.outcome, 'refused', JSON.stringify(res.body));
    assert.match(res.body.hold.reason, /point/i);
    assert.equal(typeof res.body.hold.failureType, 'string');
    assert.equal(res.body.status, 'failed', 'the row says so already');
    assert.equal(res.body.reason, res.body.hold.reason);
    assert.equal((await balanceOf(t, memberId)).held, 0, 'nothing held');

    const again = await redeem(t, request);
    assert.deepEqual(again.body.hold, res.body.hold, 'a retry after the end: the same answer');
  });

  it('refuses bad requests at once, naming the field, and writes nothing', async () => {
    const sku = await createReward(t, { pointsCost: 500, onHand: 5, tiersAllowed: ['Gold'] });
    const open = await createReward(t, { pointsCost: 500, onHand: 5 });
    const memberId = await memberWithPoints(t, 600);
    const cases: [Record<string, unknown>, number, string][] = [
      [{ memberId, rewardId: open, quantity: 2 }, 422, 'quantity'], // 1000 > 600 points
      [{ memberId, rewardId: sku }, 422, 'rewardId'], // Gold only
      [{ memberId, rewardId: 'no-such-reward' }, 404, 'rewardId'],
      [{ memberId: randomUUID(), rewardId: open }, 404, 'memberId'],
      [{ memberId, rewardId: open, quantity: 0 }, 422, 'quantity'],
      [{ memberId: 'not-a-uuid', rewardId: open }, 422, 'memberId'],
      [{ memberId, rewardId: open, extra: true }, 422, 'extra'],
    ];
    for (const [body, status, field] of cases) {
      const res = await redeem(t, body);
      assert.equal(res.status, status, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.ok(
        res.body.errors.some((e: { field: string }) => e.field === field),
        `${field} named in ${JSON.stringify(res.body.errors)}`,
      );
    }
    const rows = await t
      .db('redemptions')
      .where({ member_id: memberId })
      .count<{ count: string }[]>();
    assert.equal(Number(rows[0]!.count), 0);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 600,
      pending: 0,
      held: 0,
      debt: 0,
    });
  });

  it('a gift card is issued once, through partner errors and a lost answer', async () => {
    const rewardId = await createReward(t, {
      kind: 'gift_card',
      pointsCost: 200,
      denomination: 25,
    });
    const cards = t.partners!.giftcards;
    const before = cards.float().balance;
    for (const fault of [{ failNext: 2 }, { failAfterNext: 1 }]) {
      cards.faults.set(fault);
      const memberId = await memberWithPoints(t, 500);
      const res = await redeem(t, { memberId, rewardId });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const done = await waitForStatus(t, res.body.redemptionId as string, 'completed');
      assert.deepEqual(steps(done), ['points_held', 'issued', 'completed']);
      const issued = cards.cards().filter((c) => c.reference === res.body.redemptionId);
      assert.equal(issued.length, 1, `one card with ${JSON.stringify(fault)}`);
      assert.equal(done.live.giftCard.code, issued[0]!.code);
      assert.equal((await balanceOf(t, memberId)).available, 300);
    }
    assert.equal(cards.float().balance, before - 50, 'the float paid for two cards');
    const saved = await t
      .db('gift_cards')
      .where({ provider: 'giftco' })
      .count<{ count: string }[]>();
    assert.ok(Number(saved[0]!.count) >= 2);
  });

  it('an insufficient float fails at once, gives the points back and says the float is low', async () => {
    const rewardId = await createReward(t, {
      kind: 'gift_card',
      pointsCost: 200,
      denomination: 50,
    });
    const cards = t.partners!.giftcards;
    const float = cards.float().balance;
    cards.setFloat(40);
    try {
      const memberId = await memberWithPoints(t, 500);
      const res = await redeem(t, { memberId, rewardId });
      const failed = await waitForStatus(t, res.body.redemptionId as string, 'failed');
      assert.equal(failed.live.failureType, 'InsufficientFloat');
      assert.match(failed.reason, /float/);
      assert.deepEqual(failed.timeline.at(-1).detail.undone, ['points released']);
      assert.deepEqual(await balanceOf(t, memberId), {
        available: 500,
        pending: 0,
        held: 0,
        debt: 0,
      });
      const low = await t
        .db<{ type: string; payload: { balance: number } }>('program_events')
        .where({ type: 'giftcard.float_low' })
        .orderBy('id', 'desc')
        .first();
      assert.equal(low?.payload.balance, 40);
      const metrics = await t.api('GET', '/metrics', { key: null });
      assert.match(
        metrics.body as string,
        /^loyalty_giftcard_float\{provider="giftco",currency="EUR",low="true"\} 40$/m,
      );
      assert.equal(cards.cards().filter((c) => c.reference === res.body.redemptionId).length, 0);
    } finally {
      cards.setFloat(float);
    }
  });

  it('a coupon takes a code from the pool; an empty pool fails and gives the points back', async () => {
    const code = `CODE-${randomUUID()}`;
    const rewardId = await createReward(t, { kind: 'coupon', pointsCost: 50, codes: [code] });
    const first = await memberWithPoints(t, 100);
    const res = await redeem(t, { memberId: first, rewardId });
    const done = await waitForStatus(t, res.body.redemptionId as string, 'completed');
    assert.equal(done.live.coupon.code, code);
    assert.equal((await balanceOf(t, first)).available, 50);

    const second = await memberWithPoints(t, 100);
    const again = await redeem(t, { memberId: second, rewardId });
    const failed = await waitForStatus(t, again.body.redemptionId as string, 'failed');
    assert.equal(failed.live.failureType, 'OutOfStock');
    assert.deepEqual(await balanceOf(t, second), { available: 100, pending: 0, held: 0, debt: 0 });
  });

  it('out of stock (no substitution): fails and gives the points back', async () => {
    const sku = await createReward(t, { pointsCost: 100, onHand: 0 });
    const memberId = await memberWithPoints(t, 100);
    const res = await redeem(t, { memberId, rewardId: sku });
    const failed = await waitForStatus(t, res.body.redemptionId as string, 'failed');
    assert.equal(failed.live.failureType, 'OutOfStock');
    assert.deepEqual(steps(failed), ['points_held', 'failed']);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 100,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.deepEqual(await programEvents(t, res.body.redemptionId as string), [
      'redemption.created',
      'redemption.failed',
    ]);
    await assertConsistent(t, memberId);
  });

  it('a warehouse that keeps failing: nothing given back until it confirms nothing ships', async () => {
    const sku = await createReward(t, { pointsCost: 100, onHand: 3 });
    const memberId = await memberWithPoints(t, 100);
    const warehouse = t.partners!.warehouse;
    warehouse.faults.set({ failRate: 1 });
    let id: string;
    try {
      const res = await redeem(t, { memberId, rewardId: sku });
      id = res.body.redemptionId as string;
      await eventually('the retries to run out', async () => {
        const view = await t.api('GET', `/redemptions/${id}`);
        return steps(view.body).includes('shipment_unconfirmed') ? true : undefined;
      });
      // The warehouse cannot say whether it has the parcel: the points and stock stay put.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const waiting = await t.api('GET', `/redemptions/${id}`);
      assert.equal(waiting.body.status, 'shipment_requested', JSON.stringify(waiting.body));
      assert.equal((await balanceOf(t, memberId)).held, 100);
      assert.equal((await inventoryOf(t, sku)).reserved, 1);
      // Stuck undoing, for the alert (LoyaltyRedemptionUndoStuck) to see.
      const scrape = (await t.api('GET', '/metrics', { key: null })).body as string;
      const undoing = /^loyalty_redemptions_undoing\{age="all"\} (\d+)/m.exec(scrape);
      assert.ok(Number(undoing?.[1]) >= 1, `undoing: ${undoing?.[0]}`);
    } finally {
      warehouse.faults.set({ failRate: 0 });
    }
    const failed = await waitForStatus(t, id, 'failed');
    assert.match(failed.reason, /warehouse answered 5\d\d/);
    assert.deepEqual(failed.timeline.at(-1).detail.undone, ['stock released', 'points released']);
    assert.throws(() => warehouse.get(id), /shipment/);
    assert.deepEqual(await inventoryOf(t, sku).then((i) => [i.onHand, i.reserved]), [3, 0]);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 100,
      pending: 0,
      held: 0,
      debt: 0,
    });
  });

  it('answers lost after the warehouse took the shipment, then success: ships once', async () => {
    const sku = await createReward(t, { pointsCost: 100, onHand: 3 });
    const memberId = await memberWithPoints(t, 100);
    // Each of the first two tries reaches the warehouse; only the third hears back.
    t.partners!.warehouse.faults.set({ failAfterNext: 2 });
    const res = await redeem(t, { memberId, rewardId: sku });
    const done = await waitForStatus(t, res.body.redemptionId as string, 'completed');
    assert.equal(t.partners!.warehouse.faults.settings().failAfterNext, 0, 'both answers lost');
    const shipments = t.partners!.warehouse.list().filter((s) => s.sku === sku);
    assert.equal(shipments.length, 1);
    assert.equal(done.live.shipment.trackingNumber, shipments[0]!.trackingNumber);
    assert.equal((await inventoryOf(t, sku)).onHand, 2);
    assert.equal((await balanceOf(t, memberId)).available, 0);
  });

  it('higher tiers ship first', async () => {
    const warehouse = t.partners!.warehouse;
    const sku = await createReward(t, { pointsCost: 10, onHand: 10 });
    const member = await memberWithPoints(t, 100);
    const gold = await enrol(t);
    const bought = await post(t, purchase(gold, [{ sku: 'tv', amount: 1500 }]));
    assert.equal(bought.body.tier, 'Gold', JSON.stringify(bought.body));
    warehouse.pause();
    const ids: string[] = [];
    try {
      for (const memberId of [member, gold]) {
        const res = await redeem(t, { memberId, rewardId: sku });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        ids.push(res.body.redemptionId as string);
        await waitForStatus(t, ids.at(-1)!, 'shipment_requested');
      }
      await eventually('both shipments accepted', () =>
        Promise.resolve(
          ids.every((id) => warehouse.list().some((s) => s.shipmentId === id)) || undefined,
        ),
      );
      assert.deepEqual(
        ids.map((id) => warehouse.get(id).priority),
        [0, 5],
      );
    } finally {
      warehouse.resume();
    }
    for (const id of ids) await waitForStatus(t, id, 'completed');
    assert.deepEqual(
      warehouse.dispatchOrder().filter((id) => ids.includes(id)),
      [ids[1], ids[0]],
      'the Gold member asked second and shipped first',
    );
  });
  it('a return restocks at once and refunds after the tier’s delay, once', async () => {
    const sku = await createReward(t, { pointsCost: 200, onHand: 3 });
    const member = await memberWithPoints(t, 500);
    const gold = await enrol(t);
    await post(t, purchase(gold, [{ sku: 'tv', amount: 1200 }]));
    const ids: string[] = [];
    for (const memberId of [member, gold]) {
      const res = await redeem(t, { memberId, rewardId: sku });
      ids.push(res.body.redemptionId as string);
      await waitForStatus(t, ids.at(-1)!, 'completed');
    }
    assert.equal((await inventoryOf(t, sku)).onHand, 1);
    const body = { reason: 'arrived back unopened' };
    for (const id of ids) {
      const res = await t.api('POST', `/redemptions/${id}/return`, { key: t.keys.ops, body });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const again = await t.api('POST', `/redemptions/${id}/return`, { key: t.keys.ops, body });
      assert.equal(again.status, 202, 'the same return again');
    }
    await eventually('back on the shelf before any refund', async () =>
      (await inventoryOf(t, sku)).onHand === 3 ? true : undefined,
    );
    const [slow, fast] = await Promise.all(ids.map((id) => waitForStatus(t, id, 'refunded')));
    const delay = (view: { timeline: { step: string; detail: { refundAfterMs?: number } }[] }) =>
      view.timeline.find((s) => s.step === 'returned')?.detail.refundAfterMs;
    assert.equal(delay(slow), 4000);
    const at = (step: string) =>
      Date.parse(slow.timeline.find((s: { step: string }) => s.step === step).at);
    assert.ok(at('refunded') - at('returned') >= 4000, 'refunded only after the delay');
    assert.equal(delay(fast), 1000, 'Gold has faster returns');
    assert.equal((await balanceOf(t, member)).available, 500, 'refunded once');
    assert.equal((await balanceOf(t, gold)).available, 1200);
    assert.deepEqual((await programEvents(t, ids[0]!)).slice(-2), [
      'redemption.returned',
      'redemption.refunded',
    ]);
    // Temporal's search says so too: the redemption workflow waits out its return window, and
    // the return told it (it was `completed` there for good before).
    for (const id of ids) {
      const handle = t.env.client.workflow.getHandle(workflowIds.redemption(id));
      await eventually('RedemptionStatus to follow the refund', async () => {
        const { searchAttributes } = await handle.describe();
        return searchAttributes.RedemptionStatus?.[0] === 'refunded' ? true : undefined;
      });
      assert.equal((await handle.describe()).status.name, 'RUNNING', 'until the window closes');
    }
    await assertConsistent(t, member);

    const card = await createReward(t, { kind: 'gift_card', pointsCost: 10 });
    const res = await redeem(t, { memberId: member, rewardId: card });
    await waitForStatus(t, res.body.redemptionId as string, 'completed');
    const refused = await t.api('POST', `/redemptions/${res.body.redemptionId}/return`, {
      key: t.keys.ops,
      body,
    });
    assert.equal(refused.status, 409, 'a gift card is not returned');
  });
});

describe('redemptions with a warehouse that waits to be told', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext(
      'redemptions-manual',
      {},
      { partners: { warehouse: { autoDeliver: false } } },
    );
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  const requested = (pointsCost = 100) => awaitingShipment(t, pointsCost, 2);

  it('cancelled before it ships: the shipment is dropped, stock and points given back', async () => {
    const { sku, memberId, id } = await requested();
    const res = await t.api('POST', `/redemptions/${id}/cancel`, {
      key: t.keys.ops,
      body: { reason: 'member changed their mind' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'cancelled');
    assert.match(res.body.reason, /member changed their mind/);
    assert.equal(t.partners!.warehouse.get(id).status, 'cancelled');
    assert.deepEqual(await inventoryOf(t, sku).then((i) => [i.onHand, i.reserved]), [2, 0]);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 1000,
      pending: 0,
      held: 0,
      debt: 0,
    });
    const again = await t.api('POST', `/redemptions/${id}/cancel`, {
      key: t.keys.ops,
      body: { reason: 'once more' },
    });
    assert.equal(again.status, 409);
  });

  it('cancelled in Temporal before it ships: undone as by the API, and the workflow ends cancelled', async () => {
    const { sku, memberId, id } = await requested();
    const handle = t.env.client.workflow.getHandle(workflowIds.redemption(id));
    await handle.cancel();
    const ended = await waitForStatus(t, id, 'cancelled');
    assert.match(ended.reason, /cancelled in Temporal/);
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
    assert.equal(t.partners!.warehouse.get(id).status, 'cancelled');
    assert.deepEqual(await inventoryOf(t, sku).then((i) => [i.onHand, i.reserved]), [2, 0]);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 1000,
      pending: 0,
      held: 0,
      debt: 0,
    });
  });

  it('too late once shipped: 409, and it goes on to delivery', async () => {
    const { id, memberId } = await requested();
    t.partners!.warehouse.ship(id);
    await waitForStatus(t, id, 'shipped');
    const res = await t.api('POST', `/redemptions/${id}/cancel`, {
      key: t.keys.ops,
      body: { reason: 'too late' },
    });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    t.partners!.warehouse.deliver(id);
    await waitForStatus(t, id, 'completed');
    assert.equal((await balanceOf(t, memberId)).available, 900);
  });

  it('a missed delivery SLA credits the tier’s service recovery once', async () => {
    const { id, memberId } = await requested();
    t.partners!.warehouse.ship(id);
    await waitForStatus(t, id, 'shipped');
    await eventually('the SLA breach', async () => {
      const res = await t.api('GET', `/redemptions/${id}`);
      return res.body.live?.slaBreached ? true : undefined;
    });
    // The workflow says the SLA is breached before its credit activity has run: wait for the credit.
    const creditRows = () =>
      t
        .db<{ member_id: string; kind: string; reason: string; amount: number }>('ledger_entries')
        .where({ member_id: memberId, kind: 'adjustment' })
        .whereLike('reason', `service recovery: redemption ${id}%`);
    await eventually('the service recovery credit', async () =>
      (await creditRows()).length > 0 ? true : undefined,
    );
    const credited = await creditRows();
    assert.equal(credited.length, 1);
    assert.equal(credited[0]!.amount, 100);
    t.partners!.warehouse.deliver(id);
    const done = await waitForStatus(t, id, 'completed');
    assert.deepEqual(steps(done).slice(-3), ['sla_breached', 'delivered', 'completed']);
    assert.equal((await balanceOf(t, memberId)).available, 1000 - 100 + 100);
  });
});
