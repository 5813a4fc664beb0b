import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { placeHold, releaseHold } from '../ledger/holds';
import { workflowIds } from '../workflows/shared';
import { eventually, startTestContext, type TestContext } from './support/context';
import {
  assertConsistent,
  balanceOf,
  enrol,
  instantProgram,
  post,
  publishProgram,
  purchase,
} from './support/ledger';

describe('returns, debt, adjustments and closing', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('returns');
    await publishProgram(t, {
      ...instantProgram,
      earning: { ...instantProgram.earning!, pointsPerUnit: { EUR: 1 } },
    });
  });
  after(async () => {
    await t.stop();
  });

  const ret = (memberId: string, orderId: string, lines: { sku: string; quantity: number }[]) => ({
    type: 'return',
    eventId: `ret-${Math.random().toString(36).slice(2)}`,
    memberId,
    orderId,
    lines,
  });

  it('reverses exactly what the returned lines earned, pro rata, once', async () => {
    const id = await enrol(t);
    const order = purchase(id, [
      { sku: 'shirt', quantity: 3, amount: 100 },
      { sku: 'hat', quantity: 1, amount: 20 },
    ]);
    assert.equal((await post(t, order)).body.points.earned, 120);

    const one = ret(id, order.orderId, [{ sku: 'shirt', quantity: 1 }]);
    const first = await post(t, one);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.points.reversed, 33, 'floor(100 * 1/3)');
    assert.equal((await post(t, one)).status, 200, 'the same return again');
    assert.equal((await balanceOf(t, id)).available, 87);

    const rest = await post(t, ret(id, order.orderId, [{ sku: 'shirt', quantity: 2 }]));
    assert.equal(rest.body.points.reversed, 67, 'the last units reverse what is left of the line');
    const tooMany = await post(t, ret(id, order.orderId, [{ sku: 'shirt', quantity: 1 }]));
    assert.equal(tooMany.status, 422);
    assert.equal(tooMany.body.errors[0].field, 'lines[0].quantity');
    const unknownSku = await post(t, ret(id, order.orderId, [{ sku: 'shoe', quantity: 1 }]));
    assert.equal(unknownSku.status, 422);
    assert.equal(unknownSku.body.errors[0].field, 'lines[0].sku');

    assert.deepEqual(await balanceOf(t, id), { available: 20, pending: 0, held: 0, debt: 0 });
    const ledger = await t.api('GET', `/members/${id}/ledger`);
    assert.deepEqual(
      ledger.body.entries.map((e: { kind: string; amount: number }) => [e.kind, e.amount]),
      [
        ['accrual', 120],
        ['reversal', -33],
        ['reversal', -67],
      ],
    );
    await assertConsistent(t, id);
  });

  it('the same purchase or return sent concurrently has one effect and one answer', async () => {
    const id = await enrol(t);
    const order = purchase(id, [
      { sku: 'shirt', quantity: 2, amount: 40 },
      { sku: 'hat', quantity: 1, amount: 10 },
    ]);
    const copies = 4;
    const purchases = await Promise.all(Array.from({ length: copies }, () => post(t, order)));
    assert.deepEqual(
      purchases.map((r) => r.status).sort(),
      [200, 200, 200, 201],
      JSON.stringify(purchases.map((r) => r.body as unknown)),
    );
    for (const r of purchases) assert.deepEqual(r.body, purchases[0]!.body);
    assert.equal((await balanceOf(t, id)).available, 50);

    // All of the order at once: a copy that missed the first one's event would find nothing
    // left to return and answer 422 (the race this test was written for).
    const back = ret(id, order.orderId, [
      { sku: 'shirt', quantity: 2 },
      { sku: 'hat', quantity: 1 },
    ]);
    const returns = await Promise.all(Array.from({ length: copies }, () => post(t, back)));
    assert.deepEqual(
      returns.map((r) => r.status).sort(),
      [200, 200, 200, 201],
      JSON.stringify(returns.map((r) => r.body as unknown)),
    );
    for (const r of returns) assert.deepEqual(r.body, returns[0]!.body);
    assert.equal(returns[0]!.body.points.reversed, 50);
    assert.deepEqual(await balanceOf(t, id), { available: 0, pending: 0, held: 0, debt: 0 });
    const ledger = await t.api('GET', `/members/${id}/ledger`);
    assert.deepEqual(
      ledger.body.entries.map((e: { kind: string; amount: number }) => [e.kind, e.amount]),
      [
        ['accrual', 50],
        ['reversal', -50],
      ],
    );
    await assertConsistent(t, id);
  });

  it('points already spent are clawed back as debt, repaid by later accruals', async () => {
    const id = await enrol(t);
    const order = purchase(id, [{ sku: 'a', amount: 100 }]);
    await post(t, order);
    const spend = await t.api('POST', `/members/${id}/adjustments`, {
      body: { points: -80, reason: 'manual redemption at the counter' },
      key: t.keys.ops,
    });
    assert.equal(spend.status, 201, JSON.stringify(spend.body));
    const back = await post(t, ret(id, order.orderId, [{ sku: 'a', quantity: 1 }]));
    assert.equal(back.body.points.reversed, 100);
    assert.equal(back.body.points.fromPurchase, 20);
    assert.equal(back.body.points.debt, 80);
    assert.deepEqual(back.body.balance, { available: 0, pending: 0, held: 0, debt: 80 });

    const later = await post(t, purchase(id, [{ sku: 'b', amount: 50 }]));
    assert.equal(later.body.points.repaidDebt, 50);
    assert.deepEqual(later.body.balance, { available: 0, pending: 0, held: 0, debt: 30 });
    const more = await post(t, purchase(id, [{ sku: 'c', amount: 45 }]));
    assert.deepEqual(more.body.balance, { available: 15, pending: 0, held: 0, debt: 0 });
    await assertConsistent(t, id);
  });

  it('returns of pending points take them from pending', async () => {
    await publishProgram(t, {
      ...instantProgram,
      earning: { ...instantProgram.earning!, pointsPerUnit: { EUR: 1 }, pendingPeriod: '1 hour' },
    });
    const id = await enrol(t);
    const order = purchase(id, [{ sku: 'a', quantity: 2, amount: 40 }]);
    const earned = await post(t, order);
    assert.equal(earned.body.points.state, 'pending');
    assert.deepEqual(earned.body.balance, { available: 0, pending: 40, held: 0, debt: 0 });
    const back = await post(t, ret(id, order.orderId, [{ sku: 'a', quantity: 1 }]));
    assert.deepEqual(back.body.balance, { available: 0, pending: 20, held: 0, debt: 0 });
    await assertConsistent(t, id);
    await publishProgram(t, {
      ...instantProgram,
      earning: { ...instantProgram.earning!, pointsPerUnit: { EUR: 1 } },
    });
  });

  it('adjustments need ops, a reason, and never take more than is available', async () => {
    const id = await enrol(t);
    const path = `/members/${id}/adjustments`;
    assert.equal(
      (await t.api('POST', path, { body: { points: 10, reason: 'x' }, key: t.keys.ops })).status,
      422,
    );
    assert.equal(
      (await t.api('POST', path, { body: { points: 10 }, key: t.keys.ops })).status,
      422,
    );
    assert.equal(
      (await t.api('POST', path, { body: { points: 0, reason: 'nothing' }, key: t.keys.ops }))
        .status,
      422,
    );
    assert.equal(
      (
        await t.api('POST', path, {
          body: { points: 10, reason: 'goodwill' },
          key: t.keys.readonly,
        })
      ).status,
      403,
    );

    const headers = { 'Idempotency-Key': `adj-${id}` };
    const body = { points: 250, reason: 'goodwill for a late delivery', reference: 'CASE-42' };
    const add = await t.api('POST', path, { body, headers, key: t.keys.ops });
    assert.equal(add.status, 201);
    const replay = await t.api('POST', path, { body, headers, key: t.keys.ops });
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    const tooMuch = await t.api('POST', path, {
      body: { points: -251, reason: 'correction' },
      key: t.keys.ops,
    });
    assert.equal(tooMuch.status, 422);
    assert.equal(tooMuch.body.errors[0].field, 'points');
    assert.deepEqual(await balanceOf(t, id), { available: 250, pending: 0, held: 0, debt: 0 });

    const ledger = await t.api('GET', `/members/${id}/ledger`);
    assert.equal(ledger.body.entries.length, 1);
    assert.equal(ledger.body.entries[0].reason, 'goodwill for a late delivery (ref CASE-42)');
    assert.equal(ledger.body.entries[0].actor, 'ops:returns-ops');
    const audited = await t.db('program_events').where({ member_id: id, type: 'points.adjusted' });
    assert.equal(audited.length, 1);
  });

  it('closing forfeits the balance, ends the workflow and refuses later events', async () => {
    const id = await enrol(t);
    await post(t, purchase(id, [{ sku: 'a', amount: 30 }]));
    // Not while an open redemption holds points: a 409 that changes nothing.
    await placeHold(t.db, { holdId: `c-${id}`, memberId: id, amount: 10, reason: 'r', actor: 't' });
    const busy = await t.api('POST', `/members/${id}/close`, {
      body: { reason: 'member asked to leave' },
      key: t.keys.ops,
    });
    assert.equal(busy.status, 409, JSON.stringify(busy.body));
    assert.deepEqual(await balanceOf(t, id), { available: 20, pending: 0, held: 10, debt: 0 });
    assert.equal((await t.api('GET', `/members/${id}`)).body.status, 'active');
    await releaseHold(t.db, { holdId: `c-${id}`, memberId: id, reason: 'cancelled', actor: 't' });
    const closed = await t.api('POST', `/members/${id}/close`, {
      body: { reason: 'member asked to leave' },
      key: t.keys.ops,
    });
    assert.equal(closed.status, 200, JSON.stringify(closed.body));
    assert.deepEqual(await balanceOf(t, id), { available: 0, pending: 0, held: 0, debt: 0 });
    const handle = t.env.client.workflow.getHandle(workflowIds.member(id));
    await eventually('the workflow to complete', async () =>
      (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
    );
    const refused = await post(t, purchase(id, [{ sku: 'b', amount: 5 }]));
    assert.equal(refused.status, 409);
    const member = await t.api('GET', `/members/${id}`);
    assert.equal(member.body.status, 'closed');
    await assertConsistent(t, id);
  });

  it('paginates the ledger', async () => {
    const id = await enrol(t);
    for (let i = 0; i < 5; i++) await post(t, purchase(id, [{ sku: 'a', amount: 1 + i }]));
    const first = await t.api('GET', `/members/${id}/ledger?limit=2`);
    assert.equal(first.body.entries.length, 2);
    const second = await t.api(
      'GET',
      `/members/${id}/ledger?limit=10&after=${first.body.nextAfter}`,
    );
    assert.equal(second.body.entries.length, 3);
    assert.equal(second.body.nextAfter, null);
    assert.equal((await t.api('GET', `/members/${id}/ledger?limit=0`)).status, 422);
  });
});
