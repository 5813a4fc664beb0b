/**
 * Suspending and reinstating a member through the API: ops only, a reason required, repeatable
 * with an Idempotency-Key; while suspended an event is refused (and earns once sent again after
 * reinstatement) and a redemption is refused; both changes audited, as programme events, and on
 * the member's workflow (its MemberStatus search attribute).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { searchAttributes, workflowIds } from '../workflows/shared';
import { eventually, startTestContext, type TestContext } from './support/context';
import { assertConsistent, balanceOf, post, publishProgram, purchase } from './support/ledger';
import { createReward, memberWithPoints, redeem, redemptionProgram } from './support/redemptions';

describe('member suspension', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('suspension', {}, { partners: {} });
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  const status = async (memberId: string) => {
    const description = await t.env.client.workflow
      .getHandle(workflowIds.member(memberId))
      .describe();
    return description.typedSearchAttributes.get(searchAttributes.MemberStatus);
  };
  const change = (
    memberId: string,
    action: string,
    body: unknown,
    key = t.keys.ops,
    idem?: string,
  ) =>
    t.api('POST', `/members/${memberId}/${action}`, {
      key,
      body,
      ...(idem ? { headers: { 'Idempotency-Key': idem } } : {}),
    });

  it('suspends: earning and redeeming refused, audited, on the workflow; reinstates', async () => {
    const memberId = await memberWithPoints(t, 1000);
    const reward = await createReward(t, { pointsCost: 100, onHand: 5 });

    assert.equal(
      (await change(memberId, 'suspend', {}, t.keys.ops)).status,
      422,
      'reason required',
    );
    const readonly = await change(memberId, 'suspend', { reason: 'farming' }, t.keys.readonly);
    assert.equal(readonly.status, 403, JSON.stringify(readonly.body));

    const idem = randomUUID();
    const suspended = await change(
      memberId,
      'suspend',
      { reason: 'account farming' },
      t.keys.ops,
      idem,
    );
    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    assert.equal(suspended.body.status, 'suspended');
    assert.equal(suspended.body.changed, true);
    const replayed = await change(
      memberId,
      'suspend',
      { reason: 'account farming' },
      t.keys.ops,
      idem,
    );
    assert.deepEqual(replayed.body, suspended.body);
    assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
    const again = await change(memberId, 'suspend', { reason: 'account farming' });
    assert.equal(again.body.changed, false, 'suspending twice changes nothing');

    const event = purchase(memberId, [{ sku: 'a', amount: 100 }]);
    const refused = await post(t, event);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.detail, /suspended/);
    const redemption = await redeem(t, { memberId, rewardId: reward });
    assert.equal(redemption.status, 409, JSON.stringify(redemption.body));
    assert.equal(redemption.body.reason, 'MemberSuspended');
    assert.equal((await t.api('GET', `/members/${memberId}`)).body.status, 'suspended');
    await eventually('workflow sees suspended', async () =>
      (await status(memberId)) === 'suspended' ? true : undefined,
    );

    const notSuspended = await change(memberId, 'reinstate', { reason: 'cleared' });
    assert.equal(notSuspended.status, 200, JSON.stringify(notSuspended.body));
    assert.equal(notSuspended.body.status, 'active');
    assert.equal((await change(memberId, 'reinstate', { reason: 'again' })).status, 409);
    await eventually('workflow sees active', async () =>
      (await status(memberId)) === 'active' ? true : undefined,
    );

    const resent = await post(t, event);
    assert.equal(resent.status, 201, JSON.stringify(resent.body));
    assert.equal(resent.body.points.earned > 0, true, 'the refused event earns once sent again');
    assert.equal((await balanceOf(t, memberId)).available, 1000 + resent.body.points.earned);
    await assertConsistent(t, memberId);

    const audit = await t.api('GET', `/members/${memberId}/suspensions`, { key: t.keys.readonly });
    assert.deepEqual(
      audit.body.items.map((i: { action: string; reason: string }) => [i.action, i.reason]),
      [
        ['reinstate', 'cleared'],
        ['suspend', 'account farming'],
      ],
    );
    const events = await t
      .db('program_events')
      .where({ member_id: memberId })
      .whereIn('type', ['member.suspended', 'member.reinstated'])
      .orderBy('id');
    assert.deepEqual(
      events.map((e: { type: string }) => e.type),
      ['member.suspended', 'member.reinstated'],
    );
  });
});
