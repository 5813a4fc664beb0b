/**
 * A redemption's changes pushed as server-sent events, read by a plain node http client against
 * the real stack: the status at once, each step as the workflow writes it, `end` when it ends; a
 * reconnect resumes after the last id it saw; one LISTEN connection however many streams.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startTestContext, type TestContext } from './support/context';
import { publishProgram } from './support/ledger';
import { openStream } from './support/sse';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';

describe('redemption event stream (server-sent events)', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext(
      'redemption-events',
      {},
      { partners: { warehouse: { autoDeliver: false } } },
    );
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  const auth = () => ({ authorization: `Bearer ${t.keys.readonly}` });
  const listeners = async () =>
    Number(
      (
        await t.db.raw<{ rows: { n: string }[] }>(
          `SELECT count(*) AS n FROM pg_stat_activity
           WHERE datname = current_database() AND query LIKE 'LISTEN %'`,
        )
      ).rows[0]!.n,
    );

  it('held -> shipment requested -> shipped -> delivered -> completed, pushed as written, then the end', async () => {
    const sku = await createReward(t, { pointsCost: 250, onHand: 3 });
    const memberId = await memberWithPoints(t, 1000);
    const res = await redeem(t, { memberId, rewardId: sku });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.redemptionId as string;
    await waitForStatus(t, id, 'shipment_requested');

    const url = `${t.baseUrl}/redemptions/${id}/events`;
    const stream = openStream(url, auth());
    const second = openStream(url, auth());
    await eventually('both streams to say the status', () =>
      Promise.resolve(stream.events.length && second.events.length ? true : undefined),
    );
    assert.equal(stream.status(), 200);
    assert.match(stream.contentType(), /^text\/event-stream/);
    assert.equal(stream.events[0]!.event, 'status');
    assert.equal(stream.events[0]!.data.status, 'shipment_requested', 'the status at once');
    assert.equal(await listeners(), 1, 'one LISTEN connection for both streams');

    await eventually('the warehouse to have the shipment', () =>
      Promise.resolve(t.partners!.warehouse.list().some((s) => s.shipmentId === id) || undefined),
    );
    t.partners!.warehouse.ship(id);
    await eventually('the shipped step to be pushed', () =>
      Promise.resolve(stream.events.some((e) => e.data.step === 'shipped') || undefined),
    );
    t.partners!.warehouse.deliver(id);
    await stream.ended; // the server ends it once the redemption has ended
    await second.ended;

    const steps = stream.events.filter((e) => e.event === 'step');
    assert.deepEqual(
      steps.map((e) => e.data.step),
      ['shipped', 'delivered', 'completed'],
      'each new step once, in order',
    );
    assert.deepEqual(
      steps.map((e) => Number(e.id)),
      steps.map((e) => e.data.seq),
      'the id is the step number',
    );
    assert.deepEqual(
      stream.events.filter((e) => e.event === 'status').map((e) => e.data.status),
      // Delivered and completed are written in one transaction: the row goes straight on.
      ['shipment_requested', 'shipped', 'completed'],
    );
    assert.deepEqual(
      steps.map((e) => e.data.status),
      ['shipped', 'delivered', 'completed'],
      'each step says the status it moved to',
    );
    assert.deepEqual(stream.events.at(-1), {
      id: undefined,
      event: 'end',
      data: { status: 'completed' },
    });
    assert.deepEqual(second.events, stream.events, 'every subscriber hears the same');
    await eventually('the LISTEN connection to close with the last stream', async () =>
      (await listeners()) === 0 ? true : undefined,
    );

    // An EventSource reconnecting after id 1 gets what came after it, then the end.
    const resumed = openStream(url, { ...auth(), 'last-event-id': '1' });
    await resumed.ended;
    const done = await waitForStatus(t, id, 'completed');
    assert.deepEqual(
      resumed.events.filter((e) => e.event === 'step').map((e) => e.data.step),
      done.timeline.slice(1).map((s: { step: string }) => s.step),
    );
    assert.equal(resumed.events.at(-1)!.event, 'end');

    // Completed, then returned: once a return is asked for, the stream goes on to the refund.
    const returned = await t.api('POST', `/redemptions/${id}/return`, {
      key: t.keys.ops,
      body: { reason: 'came back unopened' },
    });
    assert.equal(returned.status, 202, JSON.stringify(returned.body));
    // Resuming after the completed step, as a page that saw it would.
    const completedSeq = (done.timeline as { seq?: number }[]).length;
    const refund = openStream(url, { ...auth(), 'last-event-id': String(completedSeq) });
    await refund.ended;
    assert.deepEqual(
      refund.events.filter((e) => e.event === 'step').map((e) => e.data.step),
      ['returned', 'refunded'],
    );
    assert.deepEqual(refund.events.at(-1)!.data, { status: 'refunded' });
  });

  it('answers 404 as problem+json for no such redemption, and 401 without a key', async () => {
    const missing = await t.api('GET', '/redemptions/nope-404/events', { key: t.keys.readonly });
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /problem\+json/);
    const anonymous = await t.api('GET', '/redemptions/nope-404/events', { key: null });
    assert.equal(anonymous.status, 401);
  });
});
