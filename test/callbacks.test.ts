/**
 * Inbound partner callbacks (`POST /callbacks/warehouse`): a forged or stale signature is a 401
 * that changes nothing; a replayed `webhook-id` is a 2xx that changes nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generateSecret, signatureHeaders } from '../infra/webhook-signature';
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

  it('refuses a stale timestamp (over five minutes) with 401 and changes nothing', async () => {
    const id = await waiting();
    const stale = new Date(Date.now() - 6 * 60_000);
    const res = await send({ type: 'shipment.delivered', shipmentId: id }, { at: stale });
    assert.equal(res.status, 401, JSON.stringify(res.body));
    assert.match(res.body.detail, /too old/);
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

  it('an unknown shipment is a 404 naming it', async () => {
    const res = await send({ type: 'shipment.delivered', shipmentId: `nope-${randomUUID()}` });
    assert.equal(res.status, 404);
    assert.equal(res.body.errors[0].field, 'shipmentId');
  });
});
