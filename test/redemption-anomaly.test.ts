/**
 * Redemptions screened by the anomaly detectors, on the real stack: with
 * `detection.redemptionVelocity` at 2 an hour, a member's burst of five redemptions sees the
 * first two go through and the other three held `in_review` with the detector's reason (the POST,
 * `GET /redemptions/:id` and `GET /reviews` say so), each with one finding and one
 * `anomaly.detected` event (a retried plan step records none again); ops approve one (it
 * completes) and reject the others (points back, stock untouched). Another member redeeming
 * ordinarily is not held. `GET /anomalies` lists the findings with its filters and paging, and
 * refuses a bad filter naming it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProgramInput } from '../domain/program';
import { planRedemption } from '../redemptions/plan';
import { startTestContext, type TestContext } from './support/context';
import { balanceOf, publishProgram } from './support/ledger';
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

let t: TestContext;

interface Reason {
  source: string;
  summary: string;
  details: Record<string, unknown>;
}

const decide = (id: string, decision: 'approve' | 'reject', reason: string) =>
  t.api('POST', `/redemptions/${id}/review`, {
    key: t.keys.ops,
    body: { decision, reason },
    headers: { 'Idempotency-Key': `review-${id}` },
  });

const stock = async (sku: string) => {
  const { onHand, reserved } = await inventoryOf(t, sku);
  return { onHand, reserved };
};

const anomalies = (query: string, key: string | null = t.keys.readonly) =>
  t.api('GET', `/anomalies${query}`, { key });

/** `count` redemptions of `sku` by one member, one after the other; their POST answers. */
async function burst(memberId: string, sku: string, count: number) {
  const answers: { id: string; status: string }[] = [];
  for (let i = 0; i < count; i++) {
    const res = await redeem(t, { memberId, rewardId: sku });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    answers.push({ id: res.body.redemptionId as string, status: res.body.status as string });
  }
  return answers;
}

describe('redemptions screened for anomalies', () => {
  let inForce: ProgramInput;
  let sku: string;
  let member: string;
  let burstOf: { id: string; status: string }[];

  before(async () => {
    t = await startTestContext('redemption-anomaly', {}, { partners: {} });
    inForce = (await t.api('GET', '/rule-sets/active')).body.program as ProgramInput;
    await publishProgram(t, {
      ...redemptionProgram,
      redemption: {
        ...redemptionProgram.redemption!,
        reviewDeadline: '1 hour',
        reviewReminderBefore: '10 minutes',
      },
      detection: { redemptionVelocity: [{ window: '1 hour', maxEvents: 2 }] },
    });
    sku = await createReward(t, { pointsCost: 100, onHand: 10 });
    member = await memberWithPoints(t, 1000);
    burstOf = await burst(member, sku, 5);
  });
  after(async () => {
    await publishProgram(t, inForce);
    await t.stop();
  });

  it('a burst: the redemptions over the threshold are held with the anomaly reason', async () => {
    assert.deepEqual(
      burstOf.map((b) => b.status === 'in_review'),
      [false, false, true, true, true],
      JSON.stringify(burstOf),
    );
    for (const { id } of burstOf.slice(0, 2)) await waitForStatus(t, id, 'completed');

    const held = burstOf.slice(2);
    for (const [i, { id }] of held.entries()) {
      const view = await waitForStatus(t, id, 'in_review');
      assert.deepEqual(steps(view), ['points_held', 'in_review']);
      const step = view.timeline.find((s: { step: string }) => s.step === 'in_review');
      const reasons = step.detail.reasons as Reason[];
      assert.deepEqual(
        reasons.map((r) => r.source),
        ['anomaly.redemptionVelocity'],
      );
      assert.equal(reasons[0]!.summary, `${i + 3} events > 2 in 1 hour`);
      assert.equal(reasons[0]!.details.subject, `redemption:${id}`);
      assert.deepEqual(reasons[0]!.details.threshold, { window: '1 hour', maxEvents: 2 });
    }

    const queue = await t.api('GET', '/reviews', { key: t.keys.readonly });
    assert.equal(queue.status, 200, JSON.stringify(queue.body));
    const inQueue = (queue.body.reviews as { redemptionId: string; reasons: Reason[] }[]).filter(
      (r) => held.some((h) => h.id === r.redemptionId),
    );
    assert.deepEqual(
      inQueue.map((r) => r.redemptionId),
      held.map((h) => h.id),
      'oldest first',
    );
    for (const r of inQueue) {
      assert.equal(r.reasons[0]!.source, 'anomaly.redemptionVelocity');
      assert.match(r.reasons[0]!.summary, /events > 2 in 1 hour/);
    }

    // One finding and one event per held redemption, none for the two that went through.
    const findings = await t.db('anomaly_findings').where({ member_id: member }).orderBy('id');
    assert.deepEqual(
      findings.map((f: { detector: string; subject: string }) => [f.detector, f.subject]),
      held.map((h) => ['redemptionVelocity', `redemption:${h.id}`]),
    );
    const events = await t
      .db('program_events')
      .where({ type: 'anomaly.detected', member_id: member })
      .orderBy('id');
    assert.deepEqual(
      events.map((e: { payload: { subject: string } }) => e.payload.subject),
      held.map((h) => `redemption:${h.id}`),
    );
    for (const h of held) {
      assert.ok((await programEvents(t, h.id)).includes('redemption.held_for_review'));
    }

    // The plan step again for a held one, as a retried activity runs it: the same reason, and
    // nothing recorded twice.
    const retried = await planRedemption(
      t.db,
      { redemptionId: held[0]!.id, memberId: member, rewardId: sku, quantity: 1 },
      new Date(),
      { screen: true },
    );
    assert.ok('plan' in retried, JSON.stringify(retried));
    assert.deepEqual(
      retried.plan.review?.reasons.map((r) => [r.source, r.details.subject]),
      [['anomaly.redemptionVelocity', `redemption:${held[0]!.id}`]],
    );
    assert.equal((await t.db('anomaly_findings').where({ member_id: member })).length, 3);
    assert.equal(
      (await t.db('program_events').where({ type: 'anomaly.detected', member_id: member })).length,
      3,
    );

    // Points: 2 spent, 3 held. Stock: 2 shipped, none taken for the held ones.
    assert.deepEqual(await balanceOf(t, member), {
      available: 500,
      pending: 0,
      held: 300,
      debt: 0,
    });
    assert.deepEqual(await stock(sku), { onHand: 8, reserved: 0 });
  });

  it('another member redeeming ordinarily is not held', async () => {
    const other = await memberWithPoints(t, 1000);
    const answers = await burst(other, sku, 2);
    for (const { id, status } of answers) {
      assert.notEqual(status, 'in_review');
      const done = await waitForStatus(t, id, 'completed');
      assert.ok(!steps(done).includes('in_review'));
    }
    assert.equal((await t.db('anomaly_findings').where({ member_id: other })).length, 0);
    assert.deepEqual(await balanceOf(t, other), {
      available: 800,
      pending: 0,
      held: 0,
      debt: 0,
    });
  });

  it('GET /anomalies lists the findings: filters, paging, newest first', async () => {
    const held = burstOf.slice(2).map((b) => b.id);
    const all = await anomalies(`?memberId=${member}`);
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(
      all.body.anomalies.map((a: { redemptionId: string }) => a.redemptionId),
      [...held].reverse(),
      'newest first',
    );
    const [newest] = all.body.anomalies;
    assert.equal(newest.detector, 'redemptionVelocity');
    assert.equal(newest.memberId, member);
    assert.equal(newest.subject, `redemption:${held[2]}`);
    assert.deepEqual(newest.seen, { points: 500, events: 5, window: '1 hour' });
    assert.deepEqual(newest.threshold, { window: '1 hour', maxEvents: 2 });
    assert.equal(newest.why, '5 events > 2 in 1 hour');
    assert.equal(typeof newest.ruleVersion, 'number');
    assert.equal(all.body.nextAfter, null);

    const first = await anomalies(`?memberId=${member}&limit=2`);
    assert.equal(first.body.anomalies.length, 2);
    assert.equal(first.body.nextAfter, first.body.anomalies[1].id);
    const second = await anomalies(`?memberId=${member}&limit=2&after=${first.body.nextAfter}`);
    assert.deepEqual(
      second.body.anomalies.map((a: { redemptionId: string }) => a.redemptionId),
      [held[0]],
    );
    assert.equal(second.body.nextAfter, null);

    const byDetector = await anomalies(`?detector=redemptionVelocity`);
    assert.ok(byDetector.body.anomalies.length >= 3);
    const none = await anomalies(`?memberId=${member}&detector=burstThenRedeem`);
    assert.deepEqual(none.body.anomalies, []);
    const later = new Date(Date.now() + 60_000).toISOString();
    assert.deepEqual((await anomalies(`?memberId=${member}&since=${later}`)).body.anomalies, []);
    const earlier = new Date(Date.now() - 3_600_000).toISOString();
    assert.equal(
      (await anomalies(`?memberId=${member}&since=${earlier}`)).body.anomalies.length,
      3,
    );
  });

  it('GET /anomalies: a bad filter is a 422 naming it; a partner key may not read', async () => {
    for (const [query, field] of [
      ['?detector=nope', 'query.detector'],
      ['?memberId=not-a-uuid', 'query.memberId'],
      ['?since=yesterday', 'query.since'],
      ['?limit=0', 'query.limit'],
      ['?after=x', 'query.after'],
      ['?after=999999999', 'query.after'],
    ]) {
      const res = await anomalies(query!);
      assert.equal(res.status, 422, `${query}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(
        res.body.errors.map((e: { field: string }) => e.field),
        [field],
        query,
      );
    }
    assert.equal((await anomalies('', t.keys.partner)).status, 403);
    assert.equal((await anomalies('', null)).status, 401);
  });

  it('ops decide through the API: approved completes, rejected gives the points back', async () => {
    const [approved, rejected, alsoRejected] = burstOf.slice(2).map((b) => b.id) as [
      string,
      string,
      string,
    ];
    const yes = await decide(approved, 'approve', 'known customer, bought gifts');
    assert.equal(yes.status, 200, JSON.stringify(yes.body));
    const done = await waitForStatus(t, approved, 'completed');
    assert.deepEqual(steps(done).slice(0, 3), ['points_held', 'in_review', 'review_decided']);

    for (const id of [rejected, alsoRejected]) {
      const no = await decide(id, 'reject', 'farmed account');
      assert.equal(no.status, 200, JSON.stringify(no.body));
      const view = await waitForStatus(t, id, 'cancelled');
      assert.match(view.reason, /rejected in review by ops:.*farmed account/);
    }
    // 3 redemptions of 100 completed; the two rejected given back. 3 of 10 shipped (this
    // member's), 2 more by the ordinary member.
    assert.deepEqual(await balanceOf(t, member), {
      available: 700,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.deepEqual(await stock(sku), { onHand: 5, reserved: 0 });
    const audit = await t.api('GET', `/members/${member}/audit`);
    assert.equal(audit.body.consistent, true, JSON.stringify(audit.body));
  });
});
