/**
 * The return window runs from delivery, not from the request: a parcel delivered late may still
 * be returned for the whole window, and not a moment after it closes.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startTestContext, type TestContext } from './support/context';
import { publishProgram } from './support/ledger';
import { awaitingShipment, redemptionProgram, waitForStatus } from './support/redemptions';

const windowMs = 3000;

describe('the return window, from delivery', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext(
      'return-window',
      {},
      { partners: { warehouse: { autoDeliver: false } } },
    );
    await publishProgram(t, {
      ...redemptionProgram,
      redemption: {
        ...redemptionProgram.redemption,
        deliverySla: '1 minute',
        returnWindow: '3 seconds',
      },
    });
  });
  after(async () => {
    await t.stop();
  });

  const deliver = async (id: string) => {
    t.partners!.warehouse.ship(id);
    await waitForStatus(t, id, 'shipped');
    t.partners!.warehouse.deliver(id);
    const done = await waitForStatus(t, id, 'completed');
    return new Date(done.timeline.find((s: { step: string }) => s.step === 'delivered').at);
  };
  const returnIt = (id: string) =>
    t.api('POST', `/redemptions/${id}/return`, {
      key: t.keys.ops,
      body: { reason: 'sent back' },
    });
  const actions = async (id: string): Promise<string[]> =>
    (await t.api('GET', `/redemptions/${id}`, { key: t.keys.ops })).body.allowedActions as string[];

  it('delivered after the window would have closed from the request: still returnable', async () => {
    const { id } = await awaitingShipment(t, 100, 2);
    const requested = Date.now();
    await sleep(windowMs + 500);
    const deliveredAt = await deliver(id);
    assert.ok(deliveredAt.getTime() - requested > windowMs, 'delivered past a window from request');
    assert.deepEqual(await actions(id), ['return']);
    const res = await returnIt(id);
    assert.equal(res.status, 202, JSON.stringify(res.body));
  });

  it('past the window from delivery: refused (409, naming the window), and not offered', async () => {
    const { id } = await awaitingShipment(t, 100, 2);
    const deliveredAt = await deliver(id);
    assert.deepEqual(await actions(id), ['return'], 'open at delivery');
    await sleep(Math.max(0, deliveredAt.getTime() + windowMs + 300 - Date.now()));
    assert.deepEqual(await actions(id), []);
    const res = await returnIt(id);
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.match(res.body.detail, /return window of 3 seconds from delivery/);
    assert.equal(res.body.errors[0].field, 'id');
    const view = await t.api('GET', `/redemptions/${id}`);
    assert.equal(view.body.status, 'completed', 'nothing changed');
  });
});
