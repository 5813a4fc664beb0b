/**
 * `GET /redemptions` as ops use it: filtered by status, tier and age, oldest first, in pages.
 * The database is shared with other tests, so each check is narrowed to this file's members
 * where it can be, and otherwise asserts on what every listed row must satisfy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestContext, type TestContext } from './support/context';
import { enrol, post, publishProgram, purchase } from './support/ledger';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';

interface Listed {
  redemptionId: string;
  status: string;
  tier: string;
  createdAt: string;
}

describe('listing redemptions', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('redemption-list', {}, { partners: {} });
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  const list = async (query: string): Promise<{ redemptions: Listed[]; next: string | null }> => {
    const res = await t.api('GET', `/redemptions?${query}`, { key: t.keys.readonly });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { redemptions: Listed[]; next: string | null };
  };
  const idsOf = (page: { redemptions: Listed[] }) => page.redemptions.map((r) => r.redemptionId);

  it('filters by status, tier and olderThan; oldest first; pages with after/next', async () => {
    const sku = await createReward(t, { pointsCost: 10, onHand: 10 });
    const none = await createReward(t, { pointsCost: 10, onHand: 0 });
    const member = await memberWithPoints(t, 100);
    const gold = await enrol(t);
    assert.equal((await post(t, purchase(gold, [{ sku: 'tv', amount: 1500 }]))).body.tier, 'Gold');

    const start = async (memberId: string, rewardId: string, status: 'completed' | 'failed') => {
      const res = await redeem(t, { memberId, rewardId });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      await waitForStatus(t, res.body.redemptionId as string, status);
      return res.body.redemptionId as string;
    };
    const oldest = await start(member, none, 'failed');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const second = await start(member, sku, 'completed');
    const third = await start(member, sku, 'completed');
    const golds = await start(gold, sku, 'completed');

    const mine = await list(`memberId=${member}`);
    assert.deepEqual(idsOf(mine), [oldest, second, third], 'oldest first');
    const times = mine.redemptions.map((r) => Date.parse(r.createdAt));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );

    assert.deepEqual(idsOf(await list(`memberId=${member}&status=failed`)), [oldest]);
    assert.deepEqual(idsOf(await list(`memberId=${member}&status=completed`)), [second, third]);
    // Older than the second (by a second at most) and younger than the oldest (2.5 s before it).
    const secondAge = (Date.now() - Date.parse(mine.redemptions[1]!.createdAt)) / 1000;
    const olderThan = Math.ceil(secondAge) + 1;
    assert.deepEqual(idsOf(await list(`memberId=${member}&olderThan=${olderThan}`)), [oldest]);

    const goldTier = await list('tier=Gold&limit=500');
    assert.ok(idsOf(goldTier).includes(golds));
    assert.ok(!idsOf(goldTier).includes(second));
    assert.ok(goldTier.redemptions.every((r) => r.tier === 'Gold'));
    const failedMembers = await list('status=failed&tier=Member&limit=500');
    assert.ok(idsOf(failedMembers).includes(oldest));
    assert.ok(failedMembers.redemptions.every((r) => r.status === 'failed' && r.tier === 'Member'));

    // Pages of two: the next page starts after the last id of the previous one.
    const first = await list(`memberId=${member}&limit=2`);
    assert.deepEqual(idsOf(first), [oldest, second]);
    assert.equal(first.next, second);
    const rest = await list(`memberId=${member}&limit=2&after=${first.next}`);
    assert.deepEqual(idsOf(rest), [third]);
    assert.equal(rest.next, null, 'a short page is the last');

    for (const [query, field] of [
      ['status=lost-in-space', 'query.status'],
      ['after=no-such-redemption', 'query.after'],
    ]) {
      const bad = await t.api('GET', `/redemptions?${query}`, { key: t.keys.readonly });
      assert.equal(bad.status, 422, JSON.stringify(bad.body));
      assert.equal(bad.body.errors[0].field, field);
    }
  });
});
