/**
 * Inbound warehouse callbacks (`POST /callbacks/warehouse`): a forged or stale signature is a 401
 * that changes nothing; a replayed `webhook-id`, even sent concurrently, is a 2xx that changes
 * nothing. Gift-card callbacks: giftcard-callbacks.test.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generateSecret, signatureHeaders } from '../infra/webhook-signature';
import { workflowIds } from '../workflows/shared';
import { startTestContext, type TestContext } from './support/context';
import { publishProgram } from './support/ledger';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  steps,
  waitForStatus,
} from './support/redemptions';

describe('inbound partner callbacks', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext(
      'callbacks',
      {},
      { partners: { warehouse: { autoDeliver: false } } },
    );
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  /** A redemption waiting at the warehouse (which sends nothing by itself here). */
  const waiting = async () => {
    const sku = await createReward(t, { pointsCost: 10, onHand: 2 });
    const memberId = await memberWithPoints(t, 100);
    const res = await redeem(t, { memberId, rewardId: sku });
    const id = res.body.redemptionId as string;
    await waitForStatus(t, id, 'shipment_requested');
    return id;
  };

  const send = (
    body: Record<string, unknown>,
    options: { secret?: string; id?: string; at?: Date } = {},
  ) => {
    const raw = JSON.stringify(body);
    const headers = signatureHeaders(
      options.secret ?? t.config.WAREHOUSE_WEBHOOK_SECRET!,
      options.id ?? `msg_${randomUUID()}`,
      raw,
      options.at,
    );
    return t.api('POST', '/callbacks/warehouse', {
      key: null,
      rawBody: raw,
      headers: { ...headers, 'content-type': 'application/json' },
    });
  };

  const status = async (id: string) =>
    (await t.api('GET', `/redemptions/${id}`)).body.status as string;

  it('refuses a forged signature with 401 and changes nothing', async () => {
    const id = await waiting();
    const res = await send(
      { type: 'shipment.delivered', shipmentId: id },
      { secret: generateSecret() },
    );
    assert.equal(res.status, 401, JSON.stringify(res.body));
    assert.match(res.body.detail, /signature/);
    const unsigned = await t.api('POST', '/callbacks/warehouse', {
      key: null,
      body: { type: 'shipment.delivered', shipmentId: id },
    });
    assert.equal(unsigned.status, 401);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await status(id), 'shipment_requested');
  });

  it('refuses a stale timestamp (over five minutes, past or future) with 401 and changes nothing', async () => {
    const id = await waiting();
    const stale = new Date(Date.now() - 6 * 60_000);
    const res = await send({ type: 'shipment.delivered', shipmentId: id }, { at: stale });
    assert.equal(res.status, 401, JSON.stringify(res.body));
    assert.match(res.body.detail, /too old/);
    const ahead = new Date(Date.now() + 6 * 60_000);
    const future = await send({ type: 'shipment.delivered', shipmentId: id }, { at: ahead });
    assert.equal(future.status, 401, JSON.stringify(future.body));
    assert.match(future.body.detail, /in the future/);
    const tampered = JSON.stringify({ type: 'shipment.delivered', shipmentId: id });
    const headers = signatureHeaders(t.config.WAREHOUSE_WEBHOOK_SECRET!, 'msg_x', '{"other":1}');
    const bodySwapped = await t.api('POST', '/callbacks/warehouse', {
      key: null,
      rawBody: tampered,
      headers: { ...headers, 'content-type': 'application/json' },
    });
    assert.equal(bodySwapped.status, 401);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await status(id), 'shipment_requested');
  });

  it('takes a valid callback once; a replayed webhook-id is 2xx and changes nothing', async () => {
    const id = await waiting();
    const webhookId = `msg_${randomUUID()}`;
    const shipped = await send({ type: 'shipment.shipped', shipmentId: id }, { id: webhookId });
    assert.equal(shipped.status, 204, JSON.stringify(shipped.body));
    await waitForStatus(t, id, 'shipped');
    // The same id again, even carrying another event: already taken, so ignored.
    const replay = await send({ type: 'shipment.delivered', shipmentId: id }, { id: webhookId });
    assert.equal(replay.status, 204);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await status(id), 'shipped');
    const seen = await t
      .db<{ source: string; webhook_id: string }>('inbound_webhooks')
      .where({ source: 'warehouse', webhook_id: webhookId });
    assert.equal(seen.length, 1);
    // A new id with the delivery: taken.
    const delivered = await send({ type: 'shipment.delivered', shipmentId: id });
    assert.equal(delivered.status, 204);
    const done = await waitForStatus(t, id, 'completed');
    assert.deepEqual(steps(done).slice(-3), ['shipped', 'delivered', 'completed']);
  });

  it('concurrent duplicates of one webhook-id are acted on once', async () => {
    const id = await waiting();
    const webhookId = `msg_${randomUUID()}`;
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        send({ type: 'shipment.shipped', shipmentId: id }, { id: webhookId }),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(8).fill(204),
    );
    await waitForStatus(t, id, 'shipped');
    // Acting is signalling the workflow: its history shows how many of the eight got through.
    const { events } = await t.env.client.workflow
      .getHandle(workflowIds.redemption(id))
      .fetchHistory();
    const signals = (events ?? []).filter(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'shipmentEvent',
    );
    assert.equal(signals.length, 1, 'one signal for one webhook-id');
  });

  it('an unknown shipment is a 404 naming it, and its webhook-id is not taken', async () => {
    const webhookId = `msg_${randomUUID()}`;
    const body = { type: 'shipment.delivered', shipmentId: `nope-${randomUUID()}` };
    const res = await send(body, { id: webhookId });
    assert.equal(res.status, 404);
    assert.equal(res.body.errors[0].field, 'shipmentId');
    const seen = await t.db('inbound_webhooks').where({ webhook_id: webhookId });
    assert.deepEqual(seen, [], 'a retry of it is taken');
  });
});
