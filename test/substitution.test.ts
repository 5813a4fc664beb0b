/**
 * Out of stock: the `substitution:<redemptionId>` child workflow on the real server, automatic by
 * policy or decided by ops through the API before a deadline, and what the redemption then does
 * (ship the substitute, refund, or wait for stock as a backorder).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { searchAttributes, workflowIds } from '../workflows/shared';
import { eventually, startTestContext, type TestContext } from './support/context';
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

const approval = (deadline: string, reminder: string) => ({
  mode: 'approval',
  approvalDeadline: deadline,
  reminderBefore: reminder,
});

describe('out-of-stock substitution', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('substitution', {}, { partners: {} });
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  /** An out-of-stock reward in a category of its own, and substitutes around it. */
  const catalog = async (substitution: Record<string, unknown>) => {
    const category = `cat${Date.now()}${Math.floor(Math.random() * 1000)}`;
    const wanted = await createReward(t, { category, cashValue: 100, onHand: 0, substitution });
    const close = await createReward(t, { category, cashValue: 105, onHand: 3 });
    const near = await createReward(t, { category, cashValue: 115, onHand: 3 });
    const dear = await createReward(t, { category, cashValue: 150, onHand: 3 }); // outside ±20 %
    const other = await createReward(t, { category: 'other', cashValue: 100, onHand: 3 });
    const empty = await createReward(t, { category, cashValue: 100, onHand: 0 });
    return { wanted, close, near, dear, other, empty };
  };

  const pending = async (id: string): Promise<{ deadlineAt: string | null }> => {
    await waitForStatus(t, id, 'substitution_pending');
    return eventually('the substitution to be pending', async () => {
      const res = await t.api('GET', `/substitutions/${id}`);
      const body = res.body as { status: string; deadlineAt: string | null };
      return res.status === 200 && body.status === 'pending' ? body : undefined;
    });
  };

  it('automatic by policy: the closest in value, in stock, same category, is shipped', async () => {
    const c = await catalog({ mode: 'auto' });
    const memberId = await memberWithPoints(t, 500);
    const res = await redeem(t, { memberId, rewardId: c.wanted });
    const id = res.body.redemptionId as string;
    const done = await waitForStatus(t, id, 'completed');
    assert.deepEqual(steps(done).slice(0, 4), [
      'points_held',
      'substitution_pending',
      'substituted',
      'stock_reserved',
    ]);
    const sub = await t.api('GET', `/substitutions/${id}`);
    assert.equal(sub.body.status, 'approved');
    assert.equal(sub.body.decidedBy, 'policy');
    assert.equal(sub.body.chosenSku, c.close);
    assert.deepEqual(
      sub.body.candidates.map((x: { sku: string }) => x.sku),
      [c.close, c.near],
    );
    assert.equal((await inventoryOf(t, c.close)).onHand, 2);
    assert.equal(t.partners!.warehouse.get(id).sku, c.close);
    assert.equal((await balanceOf(t, memberId)).available, 400);
    assert.ok((await programEvents(t, id)).includes('substitution.approved'));
    const child = await t.env.client.workflow.getHandle(workflowIds.substitution(id)).describe();
    assert.equal(child.status.name, 'COMPLETED');
    // Found in Temporal by what shipped: the substitute, not the reward asked for.
    const run = await t.env.client.workflow.getHandle(workflowIds.redemption(id)).describe();
    assert.equal(run.typedSearchAttributes.get(searchAttributes.RewardSku), c.close);
  });

  it('with approval: ops see it pending, a non-candidate is refused, a candidate ships', async () => {
    const c = await catalog(approval('1 minute', '30 seconds'));
    const memberId = await memberWithPoints(t, 500);
    const res = await redeem(t, { memberId, rewardId: c.wanted });
    const id = res.body.redemptionId as string;
    const sub = await pending(id);
    assert.ok(sub.deadlineAt);
    const offered = await t.api('GET', `/substitutions/${id}`, { key: t.keys.readonly });
    assert.deepEqual(
      (offered.body.candidates as { sku: string; cashValue: number; available: number }[]).map(
        (o) => [o.sku, o.cashValue, o.available],
      ),
      [
        [c.close, 105, 3],
        [c.near, 115, 3],
      ],
      'each candidate with its value and the stock it has now',
    );
    const list = await t.api('GET', '/substitutions?status=pending', { key: t.keys.readonly });
    assert.ok(list.body.substitutions.some((s: { redemptionId: string }) => s.redemptionId === id));

    const wrong = await t.api('POST', `/substitutions/${id}/approve`, {
      key: t.keys.ops,
      body: { sku: c.dear, reason: 'the member asked for it' },
    });
    assert.equal(wrong.status, 422, JSON.stringify(wrong.body));
    assert.equal(wrong.body.errors[0].field, 'sku');
    const noReason = await t.api('POST', `/substitutions/${id}/approve`, {
      key: t.keys.ops,
      body: { sku: c.near },
    });
    assert.equal(noReason.status, 422);
    assert.equal(noReason.body.errors[0].field, 'reason');
    assert.equal((await t.api('GET', `/substitutions/${id}`)).body.status, 'pending');

    const ok = await t.api('POST', `/substitutions/${id}/approve`, {
      key: t.keys.ops,
      body: { sku: c.near, reason: 'member prefers the blue one' },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.status, 'approved');
    assert.equal(ok.body.chosenSku, c.near);
    assert.match(ok.body.decidedBy, /^ops:/);
    assert.equal(ok.body.reason, 'member prefers the blue one');
    // A retried approval (a double click, a lost answer) is the same decision, decided once.
    const repeat = await t.api('POST', `/substitutions/${id}/approve`, {
      key: t.keys.ops,
      body: { sku: c.near, reason: 'member prefers the blue one' },
    });
    assert.equal(repeat.status, 200, JSON.stringify(repeat.body));
    assert.deepEqual(
      [repeat.body.status, repeat.body.chosenSku, repeat.body.decidedAt],
      ['approved', c.near, ok.body.decidedAt],
    );
    const other = await t.api('POST', `/substitutions/${id}/approve`, {
      key: t.keys.ops,
      body: { sku: c.close, reason: 'member prefers the blue one' },
    });
    assert.equal(other.status, 409, 'another decision after the first is refused');
    await waitForStatus(t, id, 'completed');
    assert.equal(t.partners!.warehouse.get(id).sku, c.near);
    const again = await t.api('POST', `/substitutions/${id}/reject`, {
      key: t.keys.ops,
      body: { reason: 'changed my mind' },
    });
    assert.equal(again.status, 409);
    const events = await programEvents(t, id);
    assert.ok(events.includes('substitution.pending') && events.includes('substitution.approved'));
  });

  it('rejected by ops: the points are refunded', async () => {
    const c = await catalog(approval('1 minute', '30 seconds'));
    const memberId = await memberWithPoints(t, 500);
    const res = await redeem(t, { memberId, rewardId: c.wanted });
    const id = res.body.redemptionId as string;
    await pending(id);
    const no = await t.api('POST', `/substitutions/${id}/reject`, {
      key: t.keys.ops,
      body: { reason: 'nothing comparable' },
    });
    assert.equal(no.status, 200, JSON.stringify(no.body));
    assert.equal(no.body.status, 'rejected');
    const failed = await waitForStatus(t, id, 'failed');
    assert.equal(failed.live.failureType, 'OutOfStock');
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 500,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.ok((await programEvents(t, id)).includes('substitution.rejected'));
    await assertConsistent(t, memberId);
  });

  it('no decision before the deadline: a reminder, then timed out and refunded', async () => {
    const c = await catalog(approval('3 seconds', '2 seconds'));
    const memberId = await memberWithPoints(t, 500);
    const res = await redeem(t, { memberId, rewardId: c.wanted });
    const id = res.body.redemptionId as string;
    await pending(id);
    const failed = await waitForStatus(t, id, 'failed');
    const sub = await t.api('GET', `/substitutions/${id}`);
    assert.equal(sub.body.status, 'timed_out');
    assert.equal(sub.body.decidedBy, 'deadline');
    const events = await programEvents(t, id);
    assert.deepEqual(
      events.filter((e) => e.startsWith('substitution.')),
      ['substitution.pending', 'substitution.reminder', 'substitution.timed_out'],
    );
    assert.ok(steps(failed).includes('substitution_declined'));
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 500,
      pending: 0,
      held: 0,
      debt: 0,
    });
  });

  it('rejected, with a backorder: waits for stock, then ships when it arrives', async () => {
    const c = await catalog(approval('1 minute', '30 seconds'));
    const memberId = await memberWithPoints(t, 500);
    const res = await redeem(t, { memberId, rewardId: c.wanted, backorder: true });
    const id = res.body.redemptionId as string;
    assert.equal(res.body.backorder, true);
    await pending(id);
    await t.api('POST', `/substitutions/${id}/reject`, {
      key: t.keys.ops,
      body: { reason: 'the member will wait' },
    });
    await waitForStatus(t, id, 'backordered');
    assert.equal((await balanceOf(t, memberId)).held, 100, 'the points stay held');
    const stocked = await t.api('POST', `/inventory/${c.wanted}/replenishments`, {
      key: t.keys.ops,
      body: { quantity: 2, reference: 'PO-1' },
    });
    assert.ok(stocked.status < 300, JSON.stringify(stocked.body));
    const done = await waitForStatus(t, id, 'completed');
    assert.ok(steps(done).includes('backordered'));
    assert.equal(t.partners!.warehouse.get(id).sku, c.wanted);
    assert.equal((await inventoryOf(t, c.wanted)).onHand, 1);
  });

  it('cancelled while ops decide: the question is closed and the points given back', async () => {
    const c = await catalog(approval('1 minute', '30 seconds'));
    const memberId = await memberWithPoints(t, 500);
    const res = await redeem(t, { memberId, rewardId: c.wanted });
    const id = res.body.redemptionId as string;
    await pending(id);
    const cancel = await t.api('POST', `/redemptions/${id}/cancel`, {
      key: t.keys.ops,
      body: { reason: 'member cancelled' },
    });
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    assert.equal(cancel.body.status, 'cancelled');
    const sub = await t.api('GET', `/substitutions/${id}`);
    assert.equal(sub.body.status, 'rejected');
    assert.equal(sub.body.decidedBy, 'cancellation');
    assert.deepEqual(await balanceOf(t, memberId), {
      available: 500,
      pending: 0,
      held: 0,
      debt: 0,
    });
  });

  it('no candidate in stock: no question asked, refunded at once', async () => {
    const c = await catalog({ mode: 'auto', cashValueBand: 0 });
    await t.api('PUT', `/inventory/${c.close}`, { body: { onHand: 0 } });
    const memberId = await memberWithPoints(t, 500);
    const res = await redeem(t, { memberId, rewardId: c.wanted });
    const id = res.body.redemptionId as string;
    await waitForStatus(t, id, 'failed');
    const sub = await t.api('GET', `/substitutions/${id}`);
    assert.equal(sub.body.status, 'no_candidates');
    assert.deepEqual(sub.body.candidates, []);
    assert.equal((await balanceOf(t, memberId)).available, 500);
  });
});
