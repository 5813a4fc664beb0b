/**
 * `Idempotency-Key` on every authenticated write: routes that used to ignore it (enrolment, the
 * stock and reward corrections, coupon import, a subscription's change, secret rotation, replay
 * and redeliver) now answer a repeat with the stored answer (`Idempotent-Replayed: true`) and do
 * the thing once; the same key with another request is refused (422) and changes nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestContext, uniqueId, type ApiResponse, type TestContext } from './support/context';
import { enrol } from './support/ledger';
import { startReceiver, type Receiver } from './support/receiver';
import { createReward } from './support/redemptions';

describe('Idempotency-Key on every write', () => {
  let t: TestContext;
  let receiver: Receiver;
  before(async () => {
    t = await startTestContext('idempotency');
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
    await t.stop();
  });

  interface Send {
    body?: unknown;
    rawBody?: string;
    type?: string;
  }
  /** The same request twice under one key: the second is the first's answer, replayed. */
  const twice = async (method: string, path: string, send: Send, key = t.keys.admin) => {
    const idem = randomUUID();
    const request = (s: Send) =>
      t.api(method, path, {
        key,
        ...(s.body !== undefined ? { body: s.body } : { rawBody: s.rawBody }),
        headers: { 'Idempotency-Key': idem, ...(s.type ? { 'content-type': s.type } : {}) },
      });
    const first = await request(send);
    assert.ok(
      first.status < 300,
      `${method} ${path}: ${first.status} ${JSON.stringify(first.body)}`,
    );
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const second = await request(send);
    assert.equal(second.status, first.status, `${method} ${path}: the same status`);
    assert.deepEqual(second.body, first.body, `${method} ${path}: the same answer`);
    assert.equal(second.headers.get('idempotent-replayed'), 'true', `${method} ${path}`);
    return { first, second, other: request };
  };
  const refusedAsReused = (res: ApiResponse) => {
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(res.body.errors[0].field, 'header.Idempotency-Key');
  };

  it('enrolment, reward and stock corrections, coupon import: once, the same answer', async () => {
    const externalId = uniqueId('m');
    const enrolled = await twice('POST', '/members', { body: { externalId } }, t.keys.ops);
    assert.equal(enrolled.first.status, 201);
    refusedAsReused(await enrolled.other({ body: { externalId: uniqueId('m') } }));
    assert.equal((await t.db('members').where({ external_id: externalId })).length, 1);

    const sku = await createReward(t, { onHand: 5 });
    const patched = await twice('PATCH', `/rewards/${sku}`, { body: { pointsCost: 150 } });
    assert.equal(patched.first.body.pointsCost, 150);
    refusedAsReused(await patched.other({ body: { pointsCost: 175 } }));
    assert.equal((await t.api('GET', `/rewards/${sku}`)).body.pointsCost, 150);

    const counted = await twice('PUT', `/inventory/${sku}`, { body: { onHand: 7 } });
    assert.equal(counted.first.body.onHand, 7);
    refusedAsReused(await counted.other({ body: { onHand: 9 } }));
    assert.equal((await t.api('GET', `/inventory/${sku}`)).body.onHand, 7);

    const pool = await createReward(t, { kind: 'coupon', codes: ['FIRST-0'] });
    const csv = { rawBody: 'code\nIDEM-1\nIDEM-2', type: 'text/csv' };
    const imported = await twice('POST', `/rewards/${pool}/coupons`, csv);
    // Run twice, the second would have found both codes already in the pool (duplicates: 2).
    assert.deepEqual(imported.second.body, { imported: 2, duplicates: 0, rejected: [] });
    refusedAsReused(await imported.other({ rawBody: 'code\nIDEM-3', type: 'text/csv' }));
    refusedAsReused(await imported.other({ body: { codes: ['IDEM-1', 'IDEM-2'] } }));
    assert.equal((await t.api('GET', `/rewards/${pool}`)).body.coupons.total, 3);
  });

  it('a subscription: change, secret rotation, replay and redeliver, once each', async () => {
    const created = await t.api('POST', '/webhooks/subscriptions', {
      body: { url: receiver.url, eventTypes: ['member.enrolled'] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.subscription.id as string;
    const base = `/webhooks/subscriptions/${id}`;

    const changed = await twice('PATCH', base, { body: { eventTypes: ['member.*'] } });
    refusedAsReused(await changed.other({ body: { eventTypes: ['points.*'] } }));
    assert.deepEqual((await t.api('GET', base)).body.eventTypes, ['member.*']);

    const rotated = await twice('POST', `${base}/rotate-secret`, { body: { graceSeconds: 60 } });
    const secrets = () =>
      t.db('webhook_secrets').where({ subscription_id: id }).orderBy('id').pluck('secret');
    assert.deepEqual(
      await secrets(),
      [created.body.secret, rotated.first.body.secret],
      'rotated once: the answer is the secret in force',
    );
    refusedAsReused(await rotated.other({ body: { graceSeconds: 30 } }));
    assert.equal((await secrets()).length, 2, 'the refused request rotated nothing');

    // No dispatcher runs here: the member's enrolment is marked dispatched as if the dispatcher had
    // passed it by (the subscription missed it), so redeliver has it to send.
    const memberId = await enrol(t);
    const [event] = await t
      .db('program_events')
      .where({ member_id: memberId, type: 'member.enrolled' })
      .update({ dispatched_at: t.db.fn.now() })
      .returning('id');
    const deliveries = () =>
      t.db('webhook_deliveries').where({ subscription_id: id, event_id: event.id }).select('id');

    const since = new Date(Date.now() - 60_000).toISOString();
    const redelivered = await twice('POST', `${base}/redeliver`, { body: { since } });
    assert.equal(redelivered.first.body.requested, 1);
    assert.equal((await deliveries()).length, 1);

    const replayed = await twice('POST', `${base}/replay`, { body: { eventId: event.id } });
    assert.equal(replayed.first.status, 202);
    assert.equal((await deliveries()).length, 2, 'one redelivery and one replay');
    refusedAsReused(await replayed.other({ body: { eventId: event.id + 1 } }));
  });

  it('the OpenAPI document says which operations take the key', () => {
    const takesKey = (operation: { parameters?: { name: string }[] } | undefined) =>
      Boolean(operation?.parameters?.some((p) => p.name === 'Idempotency-Key'));
    const paths = t.app.openApi.paths as Record<string, Record<string, never>>;
    for (const [path, method] of [
      ['/rewards/{id}/coupons', 'post'],
      ['/webhooks/subscriptions/{id}/rotate-secret', 'post'],
      ['/inventory/{sku}', 'put'],
      ['/members', 'post'],
    ] as const) {
      assert.ok(takesKey(paths[path]?.[method]), `${method} ${path}`);
    }
    assert.ok(!takesKey(paths['/session']?.delete), 'signing out opts out');
    assert.ok(!takesKey(paths['/callbacks/warehouse']?.post), 'public routes never take it');
  });
});
