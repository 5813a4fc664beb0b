/**
 * What the ops console reads about redemptions, over real HTTP against the real stack: codes only
 * for the roles that may read them, the detail (who did each step and why, the member, the reward,
 * the shipment or card, the actions allowed now, the SLA), and the queue with its counts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { maskCode } from '../domain/codes';
import { startTestContext, type ApiResponse, type TestContext } from './support/context';
import { publishProgram } from './support/ledger';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';

interface Step {
  step: string;
  actor: string;
  actorType: string;
  reason: string | null;
  detail: Record<string, unknown>;
}

const stepOf = (view: { timeline: Step[] }, step: string): Step => {
  const found = view.timeline.find((s) => s.step === step);
  assert.ok(found, `a ${step} step in ${JSON.stringify(view.timeline)}`);
  return found;
};

describe('redemption detail and codes, with a warehouse that delivers at once', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('redemption-console', {}, { partners: {} });
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  const get = async (id: string, key: string): Promise<ApiResponse['body']> => {
    const res = await t.api('GET', `/redemptions/${id}`, { key });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };

  it('a coupon code: in full for ops and admin, masked for readonly, wherever it appears', async () => {
    const code = `CODE-${randomUUID()}`;
    const rewardId = await createReward(t, { kind: 'coupon', pointsCost: 50, codes: [code] });
    const memberId = await memberWithPoints(t, 100);
    const id = (await redeem(t, { memberId, rewardId })).body.redemptionId as string;
    await waitForStatus(t, id, 'completed');

    for (const key of [t.keys.ops, t.keys.admin]) {
      const view = await get(id, key);
      assert.equal(view.live.coupon.code, code);
      assert.equal(view.fulfilment.coupon.code, code);
      assert.equal(stepOf(view, 'issued').detail.coupon, code);
    }
    const masked = await get(id, t.keys.readonly);
    assert.equal(masked.live.coupon.code, maskCode(code));
    assert.equal(masked.fulfilment.coupon.code, maskCode(code));
    assert.equal(stepOf(masked, 'issued').detail.coupon, maskCode(code));
    assert.equal(maskCode(code), `${'*'.repeat(code.length - 4)}${code.slice(-4)}`);
    assert.ok(!JSON.stringify(masked).includes(code.slice(0, -4)), 'no more than the last 4');
    const listed = await t.api('GET', `/redemptions?rewardId=${rewardId}`, {
      key: t.keys.readonly,
    });
    assert.equal(listed.body.redemptions.length, 1);
    assert.ok(!JSON.stringify(listed.body).includes(code.slice(0, -4)));
    const pool = await t.api('GET', `/rewards/${rewardId}`, { key: t.keys.readonly });
    assert.deepEqual(pool.body.coupons, { total: 1, available: 0, used: 1 });
  });

  it('a gift card code: in full for ops and admin, masked for readonly', async () => {
    const rewardId = await createReward(t, { kind: 'gift_card', pointsCost: 200 });
    const memberId = await memberWithPoints(t, 500);
    const id = (await redeem(t, { memberId, rewardId })).body.redemptionId as string;
    await waitForStatus(t, id, 'completed');
    const card = t.partners!.giftcards.cards().find((c) => c.reference === id)!;

    for (const key of [t.keys.ops, t.keys.admin]) {
      const view = await get(id, key);
      assert.equal(view.live.giftCard.code, card.code);
      assert.equal(view.fulfilment.giftCard.code, card.code);
    }
    const masked = await get(id, t.keys.readonly);
    assert.equal(masked.live.giftCard.code, maskCode(card.code));
    assert.equal(masked.fulfilment.giftCard.code, maskCode(card.code));
    assert.ok(!JSON.stringify(masked).includes(card.code));
    assert.equal(masked.fulfilment.giftCard.cardId, card.cardId, 'the card id is no secret');
    assert.equal(stepOf(masked, 'issued').actor, 'partner:giftco');
    assert.deepEqual(masked.reward, {
      id: rewardId,
      name: 'Test gift_card',
      kind: 'gift_card',
      category: 'audio',
      pointsCost: 200,
      cashValue: 20,
      currency: 'EUR',
      provider: 'giftco',
      denomination: 25,
    });
  });

  it('a delivered parcel: each step with its actor, the member, the shipment, return allowed', async () => {
    const sku = await createReward(t, { pointsCost: 300, onHand: 5 });
    const memberId = await memberWithPoints(t, 1000);
    const id = (await redeem(t, { memberId, rewardId: sku })).body.redemptionId as string;
    await waitForStatus(t, id, 'completed');

    const view = await get(id, t.keys.ops);
    assert.equal(view.requestedBy, 'ops:redemption-console-ops');
    assert.deepEqual(
      view.timeline.map((s: Step) => [s.step, s.actor, s.actorType]),
      [
        ['points_held', 'system:workflow', 'system'],
        ['stock_reserved', 'system:workflow', 'system'],
        ['shipment_requested', 'system:workflow', 'system'],
        ['shipped', 'partner:warehouse', 'partner'],
        ['delivered', 'partner:warehouse', 'partner'],
        ['completed', 'system:workflow', 'system'],
      ],
    );
    assert.equal(view.member.id, memberId);
    assert.equal(view.member.tier, 'Member');
    assert.equal(view.reward.kind, 'physical');
    assert.equal(view.fulfilment.shipment.sku, sku);
    assert.equal(view.fulfilment.shipment.trackingNumber, view.live.shipment.trackingNumber);
    assert.ok(Date.parse(view.fulfilment.shipment.deliveredAt) > 0);
    assert.equal(view.fulfilment.giftCard, null);
    assert.deepEqual(view.allowedActions, ['return']);
    assert.equal(view.atRisk, false, 'delivered: nothing at risk');
    assert.equal(view.slaDeadline, null);
    assert.ok(view.workflow.url.endsWith(`/workflows/${encodeURIComponent(`redemption:${id}`)}`));
    assert.deepEqual((await get(id, t.keys.readonly)).allowedActions, []);

    const returned = await t.api('POST', `/redemptions/${id}/return`, {
      key: t.keys.ops,
      body: { reason: 'came back damaged' },
    });
    assert.equal(returned.status, 202, JSON.stringify(returned.body));
    const back = await waitForStatus(t, id, 'refunded');
    const step = stepOf(back, 'returned');
    assert.deepEqual(
      [step.actor, step.actorType, step.reason],
      ['ops:redemption-console-ops', 'key', 'came back damaged'],
    );
    assert.deepEqual(back.allowedActions, []);
  });
});

describe('the redemption queue, with a warehouse that does not ship', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext(
      'redemption-queue',
      { SLA_AT_RISK_SECONDS: 0 },
      { partners: { warehouse: { paused: true } } },
    );
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  const list = async (query: string, key = t.keys.readonly) => {
    const res = await t.api('GET', `/redemptions?${query}`, { key });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { redemptions: Record<string, unknown>[]; next: string | null };
  };
  const ids = (page: { redemptions: Record<string, unknown>[] }) =>
    page.redemptions.map((r) => r.redemptionId);

  it('waiting past the delivery SLA is at risk; ops may cancel, with who and why recorded', async () => {
    const sku = await createReward(t, { pointsCost: 10, onHand: 10 });
    const memberId = await memberWithPoints(t, 100);
    const id = (await redeem(t, { memberId, rewardId: sku })).body.redemptionId as string;
    const waiting = await waitForStatus(t, id, 'shipment_requested');
    // The SLA of the test program is 3 s from the request, the parcel not having shipped.
    assert.equal(Date.parse(waiting.slaDeadline), Date.parse(waiting.createdAt) + 3000);
    assert.deepEqual(waiting.allowedActions, ['cancel'], 'admin may cancel');
    const readonly = await t.api('GET', `/redemptions/${id}`, { key: t.keys.readonly });
    assert.deepEqual(readonly.body.allowedActions, []);

    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, Date.parse(waiting.slaDeadline) - Date.now() + 100)),
    );
    const late = await t.api('GET', `/redemptions/${id}`, { key: t.keys.readonly });
    assert.equal(late.body.atRisk, true);
    assert.equal(late.body.slaBreached, true);
    const row = (await list(`rewardId=${sku}`)).redemptions[0]!;
    assert.deepEqual(
      [row.redemptionId, row.atRisk, row.slaDeadline],
      [id, true, waiting.slaDeadline],
    );
    assert.deepEqual(ids(await list(`rewardId=${sku}&atRisk=true`)), [id]);
    assert.deepEqual(ids(await list(`rewardId=${sku}&atRisk=false`)), []);

    const refused = await t.api('POST', `/redemptions/${id}/cancel`, {
      key: t.keys.readonly,
      body: { reason: 'not mine to cancel' },
    });
    assert.equal(refused.status, 403);
    const cancel = () =>
      t.api('POST', `/redemptions/${id}/cancel`, {
        key: t.keys.ops,
        body: { reason: 'member moved house' },
        headers: { 'idempotency-key': `cancel-${id}` },
      });
    const cancelled = await cancel();
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    // Its answer lost, the console sends the same request again: the same answer, not a 409.
    const again = await cancel();
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, cancelled.body);
    const step = stepOf(cancelled.body, 'cancelled');
    assert.deepEqual(
      [step.actor, step.actorType, step.reason],
      ['ops:redemption-queue-ops', 'key', 'member moved house'],
    );
    assert.deepEqual(cancelled.body.allowedActions, []);
    assert.equal(cancelled.body.atRisk, false, 'ended: no longer at risk');
    assert.deepEqual(ids(await list(`rewardId=${sku}&atRisk=true`)), []);
  });

  it('filters by several statuses, reward, tier and age; newest first on request; counts agree', async () => {
    const sku = await createReward(t, { pointsCost: 10, onHand: 10 });
    const empty = await createReward(t, { pointsCost: 10, onHand: 0 });
    const memberId = await memberWithPoints(t, 100);
    const start = async (rewardId: string, status: 'shipment_requested' | 'failed') => {
      const res = await redeem(t, { memberId, rewardId });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      await waitForStatus(t, res.body.redemptionId as string, status);
      return res.body.redemptionId as string;
    };
    const failed = await start(empty, 'failed');
    const waiting = [
      await start(sku, 'shipment_requested'),
      await start(sku, 'shipment_requested'),
    ];
    const mine = `memberId=${memberId}`;

    assert.deepEqual(ids(await list(mine)), [failed, ...waiting], 'oldest first');
    assert.deepEqual(ids(await list(`${mine}&order=newest`)), [failed, ...waiting].reverse());
    assert.deepEqual(ids(await list(`${mine}&order=newest&limit=1&after=${waiting[1]}`)), [
      waiting[0],
    ]);
    assert.deepEqual(ids(await list(`${mine}&status=failed,shipment_requested`)), [
      failed,
      ...waiting,
    ]);
    assert.deepEqual(ids(await list(`${mine}&status=failed&status=shipment_requested`)), [
      failed,
      ...waiting,
    ]);
    assert.deepEqual(ids(await list(`${mine}&status=failed,completed`)), [failed]);
    assert.deepEqual(ids(await list(`${mine}&rewardId=${sku}`)), waiting);
    assert.deepEqual(ids(await list(`${mine}&tier=Member`)), [failed, ...waiting]);
    assert.deepEqual(ids(await list(`${mine}&tier=Gold`)), []);
    const second = (await list(mine)).redemptions[1]!;
    assert.deepEqual(ids(await list(`${mine}&createdBefore=${second.createdAt as string}`)), [
      failed,
    ]);
    assert.deepEqual(ids(await list(`${mine}&olderThanMinutes=60`)), []);
    assert.deepEqual(ids(await list(`${mine}&olderThanMinutes=0`)), [failed, ...waiting]);

    const counts = await t.api('GET', `/redemptions/counts?${mine}&status=failed`, {
      key: t.keys.readonly,
    });
    assert.equal(counts.status, 200, JSON.stringify(counts.body));
    assert.equal(counts.body.byStatus.failed, 1);
    assert.equal(counts.body.byStatus.shipment_requested, 2);
    assert.equal(counts.body.byStatus.completed, 0);
    assert.equal(counts.body.total, 3);
    const atRisk = (await list(mine)).redemptions.filter((r) => r.atRisk).length;
    assert.equal(counts.body.atRisk, atRisk);
    const bySku = await t.api('GET', `/redemptions/counts?rewardId=${sku}`);
    assert.deepEqual(
      [bySku.body.total, bySku.body.byStatus.shipment_requested],
      [2, 2],
      'the same filters as the list',
    );
  });

  it('a bad filter is a 422 naming it, for the list and the counts', async () => {
    for (const [path, field] of [
      ['/redemptions?status=shipped,bogus', 'query.status'],
      ['/redemptions?createdBefore=yesterday', 'query.createdBefore'],
      ['/redemptions?order=sideways', 'query.order'],
      ['/redemptions/counts?atRisk=maybe', 'query.atRisk'],
      ['/redemptions/counts?olderThanMinutes=-1', 'query.olderThanMinutes'],
    ] as const) {
      const res = await t.api('GET', path, { key: t.keys.readonly });
      assert.equal(res.status, 422, path);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.ok(
        (res.body.errors as { field: string }[]).some((e) => e.field.startsWith(field)),
        `${path}: ${JSON.stringify(res.body.errors)}`,
      );
    }
  });
});
