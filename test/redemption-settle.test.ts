/**
 * A redemption cancelled (or terminated) in Temporal past the point of no return leaves its
 * points held: ops settle them through `POST /redemptions/:id/settle`, audited and once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { workflowIds } from '../workflows/shared';
import { eventually, startTestContext, type TestContext } from './support/context';
import { assertConsistent, balanceOf, publishProgram } from './support/ledger';
import {
  awaitingShipment,
  programEvents,
  redemptionProgram,
  steps,
  waitForStatus,
} from './support/redemptions';

describe('settling the points a closed redemption workflow left held', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext(
      'redemption-settle',
      {},
      { partners: { warehouse: { autoDeliver: false } } },
    );
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  /** Shipped, then cancelled in Temporal: nothing undone, the points still held. */
  async function stranded() {
    const { id, memberId } = await awaitingShipment(t, 100, 2);
    t.partners!.warehouse.ship(id);
    await waitForStatus(t, id, 'shipped');
    const handle = t.env.client.workflow.getHandle(workflowIds.redemption(id));
    await handle.cancel();
    await eventually('the workflow to close', async () =>
      (await handle.describe()).status.name === 'CANCELLED' ? true : undefined,
    );
    assert.equal((await balanceOf(t, memberId)).held, 100, 'left held by the workflow');
    return { id, memberId };
  }

  const settle = (id: string, body: unknown, headers: Record<string, string> = {}) =>
    t.api('POST', `/redemptions/${id}/settle`, { key: t.keys.ops, body, headers });

  it('refused while the workflow runs, for bad input and for other roles; nothing changes', async () => {
    const { id, memberId } = await awaitingShipment(t, 100, 2);
    const running = await settle(id, { action: 'release', reason: 'stuck?' });
    assert.equal(running.status, 409, JSON.stringify(running.body));
    assert.equal(running.body.errors[0].field, 'id');
    assert.match(running.body.detail, /still running/);
    const badAction = await settle(id, { action: 'refund', reason: 'stuck?' });
    assert.equal(badAction.status, 422);
    assert.equal(badAction.body.errors[0].field, 'action');
    const noReason = await settle(id, { action: 'spend' });
    assert.equal(noReason.status, 422);
    assert.equal(noReason.body.errors[0].field, 'reason');
    const readonly = await t.api('POST', `/redemptions/${id}/settle`, {
      key: t.keys.readonly,
      body: { action: 'spend', reason: 'not mine to do' },
    });
    assert.equal(readonly.status, 403);
    assert.equal(
      (await settle('no-such-redemption', { action: 'spend', reason: 'x y z' })).status,
      404,
    );
    assert.equal((await balanceOf(t, memberId)).held, 100);
    const view = await t.api('GET', `/redemptions/${id}`, { key: t.keys.ops });
    assert.ok(!view.body.allowedActions.includes('settle'), 'not while the workflow runs');
    t.partners!.warehouse.ship(id);
    t.partners!.warehouse.deliver(id);
    await waitForStatus(t, id, 'completed');
    const settled = await settle(id, { action: 'spend', reason: 'it completed' });
    assert.equal(settled.status, 409, 'completed: no hold is open');
  });

  it('spend: the hold is redeemed and the redemption completes, audited and once', async () => {
    const { id, memberId } = await stranded();
    const view = await t.api('GET', `/redemptions/${id}`, { key: t.keys.ops });
    assert.deepEqual(view.body.allowedActions, ['settle']);
    const readView = await t.api('GET', `/redemptions/${id}`, { key: t.keys.readonly });
    assert.deepEqual(readView.body.allowedActions, []);

    const headers = { 'Idempotency-Key': `settle-${id}` };
    const body = { action: 'spend', reason: 'the parcel was delivered, member confirmed' };
    const res = await settle(id, body, headers);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'completed');
    assert.deepEqual(res.body.allowedActions, []);
    const step = res.body.timeline.at(-1);
    assert.equal(step.step, 'settled');
    assert.equal(step.actor, 'ops:redemption-settle-ops');
    assert.equal(step.reason, body.reason);
    assert.equal(step.detail.action, 'spend');
    assert.equal(step.detail.from, 'shipped');

    const replay = await settle(id, body, headers);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    const again = await settle(id, body);
    assert.equal(again.status, 200, 'the same settlement again: no change');
    const other = await settle(id, { action: 'release', reason: 'changed my mind' });
    assert.equal(other.status, 409, JSON.stringify(other.body));
    assert.match(other.body.detail, /already redeemed/);

    assert.deepEqual(await balanceOf(t, memberId), {
      available: 900,
      pending: 0,
      held: 0,
      debt: 0,
    });
    const final = await t.api('GET', `/redemptions/${id}`);
    assert.equal(steps(final.body).filter((s) => s === 'settled').length, 1);
    const ledger = await t.api('GET', `/members/${memberId}/ledger`);
    const entries = ledger.body.entries as { kind: string; actor: string; reason: string }[];
    const redeemed = entries.filter((e) => e.kind === 'redemption');
    assert.equal(redeemed.length, 1);
    assert.equal(redeemed[0]!.actor, 'ops:redemption-settle-ops');
    assert.match(redeemed[0]!.reason, /settled by ops \(spend\): the parcel was delivered/);
    assert.ok((await programEvents(t, id)).includes('redemption.settled'));
    await assertConsistent(t, memberId);
  });

  it('release: the points go back to the member and the redemption is cancelled', async () => {
    const { id, memberId } = await stranded();
    const res = await settle(id, { action: 'release', reason: 'parcel never arrived' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'cancelled');
    assert.match(res.body.reason, /parcel never arrived/);
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 1000,
      pending: 0,
      held: 0,
      debt: 0,
    });
    const ledger = await t.api('GET', `/members/${memberId}/ledger`);
    const released = (ledger.body.entries as { kind: string; actor: string }[]).filter(
      (e) => e.kind === 'release',
    );
    assert.deepEqual(
      released.map((e) => e.actor),
      ['ops:redemption-settle-ops'],
    );
    await assertConsistent(t, memberId);
  });
});
