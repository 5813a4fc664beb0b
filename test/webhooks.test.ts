/**
 * Outbound webhooks end to end: the outbox dispatcher and delivery workflows on the real server,
 * and a partner's endpoint (a real HTTP server) verifying with the published Standard Webhooks
 * library. Retry waits are compressed (WEBHOOK_RETRY_SCHEDULE) so days take seconds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createWebhookActivities } from '../activities/webhooks';
import { eventually, startTestContext, type TestContext } from './support/context';
import { enrol, instantProgram, post, publishProgram, purchase } from './support/ledger';
import { startReceiver, verifies, type Receiver } from './support/receiver';

describe('partner webhooks', () => {
  let t: TestContext;
  const receivers: Receiver[] = [];
  before(async () => {
    t = await startTestContext(
      'webhooks',
      { WEBHOOK_RETRY_SCHEDULE: '300ms,300ms,500ms,500ms,1s', WEBHOOK_POLL_MS: 100 },
      { webhooks: true },
    );
    await publishProgram(t, instantProgram);
  });
  after(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await t.stop();
  });

  /** A receiver and a subscription to it (by the partner key unless said otherwise). */
  const subscribe = async (eventTypes: string[] = ['points.*'], key = t.keys.partner) => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const res = await t.api('POST', '/webhooks/subscriptions', {
      key,
      body: { url: receiver.url, eventTypes, description: 'test endpoint' },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.match(res.body.secret, /^whsec_/);
    receiver.secrets.push(res.body.secret as string);
    return { receiver, id: res.body.subscription.id as string };
  };

  /** A points.adjusted event for a fresh member; answers the member id. */
  const adjust = async (memberId?: string, points = 10) => {
    const id = memberId ?? (await enrol(t));
    const res = await t.api('POST', `/members/${id}/adjustments`, {
      body: { points, reason: 'webhook test' },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return id;
  };

  /** The member's event of `type`, once the dispatcher claimed it (its deliveries are made). */
  const dispatched = (memberId: string, type: string) =>
    eventually(`${type} claimed by the dispatcher`, async () => {
      const row: { id: number } | undefined = await t
        .db('program_events')
        .where({ member_id: memberId, type })
        .whereNotNull('dispatched_at')
        .first('id');
      return row;
    });

  const deliveryRows = (subscriptionId: string, eventId: number) =>
    t.db('webhook_deliveries').where({ subscription_id: subscriptionId, event_id: eventId });

  const deliveries = async (subscriptionId: string, key = t.keys.partner) => {
    const res = await t.api('GET', `/webhooks/subscriptions/${subscriptionId}/deliveries`, { key });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.deliveries as {
      id: number;
      eventId: number;
      eventType: string;
      webhookId: string;
      status: string;
      attempts: {
        attempt: number;
        statusCode: number | null;
        latencyMs: number;
        error: string | null;
      }[];
    }[];
  };

  it('delivers each matching event once, signed, and logs every attempt', async () => {
    const points = await subscribe(['points.adjusted']);
    const redemptions = await subscribe(['redemption.*']);
    const memberId = await adjust();
    const got = await eventually('the event delivered', () =>
      points.receiver.handled.find((r) => r.data.memberId === memberId),
    );
    assert.equal(got.type, 'points.adjusted');
    assert.equal(got.data.points, 10);
    assert.equal(got.data.reason, 'webhook test');
    assert.match(got.id, /^msg_\d+$/);
    const log = await eventually('the delivery logged', async () => {
      const rows = (await deliveries(points.id)).filter((d) => d.webhookId === got.id);
      return rows[0]?.status === 'delivered' ? rows : undefined;
    });
    assert.equal(log.length, 1);
    assert.equal(log[0]!.attempts.length, 1);
    assert.equal(log[0]!.attempts[0]!.statusCode, 204);
    assert.ok(log[0]!.attempts[0]!.latencyMs >= 0);
    assert.equal(points.receiver.refused, 0);
    // Claimed events have all their deliveries: none made for redemption.* means none ever.
    const event = await dispatched(memberId, 'points.adjusted');
    assert.deepEqual(await deliveryRows(redemptions.id, event.id), []);
    assert.equal((await deliveryRows(points.id, event.id)).length, 1);
    assert.ok(
      !redemptions.receiver.handled.some((r) => r.data.memberId === memberId),
      'a redemption.* subscription gets no points events',
    );
  });

  it('delivers member and points events end to end: enrolled, accrued, closed', async () => {
    const { receiver, id } = await subscribe(['member.*', 'points.accrued']);
    const memberId = await enrol(t);
    const accrual = purchase(memberId, [{ sku: 'sku-1', amount: 12 }]);
    assert.equal((await post(t, accrual)).status, 201);
    const closed = await t.api('POST', `/members/${memberId}/close`, {
      key: t.keys.ops,
      body: { reason: 'webhook test' },
    });
    assert.equal(closed.status, 200, JSON.stringify(closed.body));
    const got = await eventually('three events delivered', () => {
      const mine = receiver.handled.filter((r) => r.data.memberId === memberId);
      return mine.length === 3 ? mine : undefined;
    });
    const byType = new Map(got.map((r) => [r.type, r]));
    assert.deepEqual([...byType.keys()].sort(), [
      'member.closed',
      'member.enrolled',
      'points.accrued',
    ]);
    assert.equal(byType.get('points.accrued')!.data.eventId, accrual.eventId);
    assert.equal(byType.get('points.accrued')!.data.points, 12);
    assert.equal(byType.get('member.closed')!.data.reason, 'webhook test');
    assert.equal(byType.get('member.enrolled')!.data.tier, 'Member');
    for (const r of got) assert.equal(receiver.arrivals.get(r.id), 1, `${r.id} arrived once`);
    const log = await eventually('the log to show them delivered', async () => {
      const rows = (await deliveries(id)).filter((d) => got.some((r) => r.id === d.webhookId));
      return rows.length === 3 && rows.every((d) => d.status === 'delivered') ? rows : undefined;
    });
    assert.deepEqual(log.map((d) => d.eventType).sort(), [...byType.keys()].sort());
  });

  it('an attempt retried after it recorded a 503 still leaves the delivery delivered', async () => {
    const { receiver, id } = await subscribe(['giftcard.float_low']);
    const memberId = await adjust();
    const event = await dispatched(memberId, 'points.adjusted');
    // A delivery of our own, whose workflow is never started (started_at set): the activity is
    // run here as a retrying worker would, twice for the same attempt number.
    const [row] = await t
      .db('webhook_deliveries')
      .insert({
        subscription_id: id,
        event_id: event.id,
        requested_by: 'test',
        started_at: new Date(),
      })
      .returning('id');
    const activities = createWebhookActivities({ db: t.db, config: t.config, temporal: null });
    const input = { deliveryId: row.id as number, attempt: 1, last: false, nextDelayMs: 60_000 };
    const attempt = () => new MockActivityEnvironment().run(() => activities.attemptWebhook(input));
    receiver.mode = 'down';
    assert.equal(await attempt(), 'retry');
    receiver.mode = 'ok';
    assert.equal(await attempt(), 'delivered', 'the retry of attempt 1 got a 204');
    const [logged] = (await deliveries(id)).filter((d) => d.id === row.id);
    assert.equal(logged!.status, 'delivered');
    assert.deepEqual(
      logged!.attempts.map((a) => [a.attempt, a.statusCode]),
      [
        [1, 503],
        [2, 204],
      ],
    );
    // Run once more (the activity's result was lost again): nothing is sent, still delivered.
    assert.equal(await attempt(), 'delivered');
    assert.equal(receiver.arrivals.get(`msg_${event.id}`), 1);
    const [still] = (await deliveries(id)).filter((d) => d.id === row.id);
    assert.equal(still!.status, 'delivered');
    assert.equal(still!.attempts.length, 2);
  });

  it('an endpoint down for a while gets every event when it is back, each id once', async () => {
    const { receiver, id } = await subscribe(['points.adjusted']);
    receiver.mode = 'down';
    const memberId = await enrol(t);
    for (let i = 0; i < 5; i++) await adjust(memberId, i + 1);
    await eventually('failed attempts logged', async () => {
      const rows = await deliveries(id);
      return rows.length === 5 && rows.every((d) => d.attempts.length >= 2) ? true : undefined;
    });
    receiver.mode = 'ok';
    await eventually('all five delivered', () =>
      receiver.handled.filter((r) => r.data.memberId === memberId).length === 5 ? true : undefined,
    );
    const mine = receiver.handled.filter((r) => r.data.memberId === memberId);
    assert.deepEqual(
      mine.map((r) => r.data.points).sort(),
      [1, 2, 3, 4, 5],
      'every event arrived (in no guaranteed order)',
    );
    for (const r of mine) assert.equal(receiver.arrivals.get(r.id), 1, `${r.id} accepted once`);
    // The endpoint records an event before it answers: the log follows a moment later.
    const rows = await eventually('the log to show all five delivered', async () => {
      const all = await deliveries(id);
      return all.every((d) => d.status === 'delivered') ? all : undefined;
    });
    assert.equal(rows.length, 5);
    for (const d of rows) {
      assert.equal(d.attempts.at(-1)!.statusCode, 204);
      assert.equal(d.attempts[0]!.statusCode, 503);
    }
  });

  it('410 Gone disables the subscription and tells ops', async () => {
    const { receiver, id } = await subscribe(['points.adjusted']);
    receiver.mode = 'gone';
    await adjust();
    const sub = await eventually('disabled', async () => {
      const res = await t.api('GET', `/webhooks/subscriptions/${id}`, { key: t.keys.partner });
      const body = res.body as { status: string; disabledReason: string };
      return body.status === 'disabled' ? body : undefined;
    });
    assert.match(sub.disabledReason, /410/);
    const told = await t
      .db<{ type: string; payload: { subscriptionId: string } }>('program_events')
      .where({ type: 'webhook.subscription_disabled' })
      .whereRaw(`payload->>'subscriptionId' = ?`, [id]);
    assert.equal(told.length, 1);
    receiver.mode = 'ok';
    const later = await adjust();
    const event = await dispatched(later, 'points.adjusted');
    assert.deepEqual(await deliveryRows(id, event.id), [], 'no delivery made once disabled');
    assert.ok(
      !receiver.handled.some((r) => r.data.memberId === later),
      'nothing sent once disabled',
    );
  });

  it('failing through the whole schedule fails the delivery and disables the endpoint', async () => {
    const { receiver, id } = await subscribe(['points.adjusted']);
    receiver.mode = 'down';
    await adjust();
    const [delivery] = await eventually(
      'the delivery to give up',
      async () => {
        const rows = await deliveries(id);
        return rows[0]?.status === 'failed' ? rows : undefined;
      },
      30_000,
    );
    assert.equal(delivery!.attempts.length, 6, 'one attempt, then one after each of 5 waits');
    const res = await t.api('GET', `/webhooks/subscriptions/${id}`, { key: t.keys.partner });
    assert.equal(res.body.status, 'disabled');
    assert.match(res.body.disabledReason, /failing for/);
  });

  it('a rotated secret: both sign each delivery in the grace window; after it, the old one stops', async () => {
    const { receiver, id } = await subscribe(['points.adjusted']);
    const [old] = receiver.secrets;
    const rotated = await t.api('POST', `/webhooks/subscriptions/${id}/rotate-secret`, {
      key: t.keys.partner,
      body: { graceSeconds: 5 },
    });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const current = rotated.body.secret as string;
    const graceEnds = new Date(rotated.body.previousValidUntil as string).getTime();
    receiver.secrets.push(current);
    const deliveredTo = async () => {
      const memberId = await adjust();
      return eventually('delivered and verified', () =>
        receiver.handled.find((r) => r.data.memberId === memberId),
      );
    };

    const during = await deliveredTo();
    assert.ok(Date.now() < graceEnds, 'delivered inside the grace window');
    assert.equal(during.signatures, 2);
    // The same message verifies under each secret alone (the published library, one timestamp).
    assert.ok(verifies(old!, during), 'the old secret verifies it');
    assert.ok(verifies(current, during), 'the new secret verifies it');

    await new Promise((resolve) => setTimeout(resolve, graceEnds - Date.now() + 100));
    const afterwards = await deliveredTo();
    assert.equal(afterwards.signatures, 1);
    assert.ok(verifies(current, afterwards), 'the new secret verifies it');
    assert.ok(!verifies(old!, afterwards), 'the old secret no longer signs');
    assert.equal(receiver.refused, 0);
  });

  it('replays an event with the same webhook-id; partners only what they were sent', async () => {
    const { receiver, id } = await subscribe(['points.adjusted']);
    const memberId = await adjust();
    const first = await eventually('delivered', () =>
      receiver.handled.find((r) => r.data.memberId === memberId),
    );
    const eventId = Number(first.id.slice('msg_'.length));
    const replay = await t.api('POST', `/webhooks/subscriptions/${id}/replay`, {
      key: t.keys.partner,
      body: { eventId },
    });
    assert.equal(replay.status, 202, JSON.stringify(replay.body));
    await eventually('the replay arrived', () =>
      receiver.arrivals.get(first.id) === 2 ? true : undefined,
    );
    const other = await t
      .db<{ id: number; type: string }>('program_events')
      .where({ type: 'member.enrolled' })
      .first('id');
    const refused = await t.api('POST', `/webhooks/subscriptions/${id}/replay`, {
      key: t.keys.partner,
      body: { eventId: other!.id },
    });
    assert.equal(refused.status, 404);
    assert.equal(refused.body.errors[0].field, 'eventId');
    const byAdmin = await t.api('POST', `/webhooks/subscriptions/${id}/replay`, {
      key: t.keys.admin,
      body: { eventId: other!.id },
    });
    assert.equal(byAdmin.status, 202);
  });

  it('a disabled subscription misses events; once enabled, redeliver sends them, once', async () => {
    const { receiver, id } = await subscribe(['points.adjusted']);
    const patch = (enabled: boolean) =>
      t.api('PATCH', `/webhooks/subscriptions/${id}`, { key: t.keys.partner, body: { enabled } });
    const before = await adjust();
    await eventually('the first event delivered', () =>
      receiver.handled.find((r) => r.data.memberId === before),
    );
    const since = new Date();
    assert.equal((await patch(false)).status, 200);
    const missed = [await adjust(), await adjust()];
    for (const memberId of missed) {
      const event = await dispatched(memberId, 'points.adjusted');
      assert.deepEqual(await deliveryRows(id, event.id), [], 'nothing made while disabled');
    }
    const refused = await t.api('POST', `/webhooks/subscriptions/${id}/redeliver`, {
      key: t.keys.partner,
      body: { since: since.toISOString() },
    });
    assert.equal(refused.status, 409, 'enable it first');

    assert.equal((await patch(true)).status, 200);
    const redeliver = () =>
      t.api('POST', `/webhooks/subscriptions/${id}/redeliver`, {
        key: t.keys.partner,
        body: { since: since.toISOString() },
      });
    const res = await redeliver();
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body, { requested: 2, more: false });
    const again = await redeliver();
    assert.deepEqual(again.body, { requested: 0, more: false }, 'nothing twice');
    await eventually(
      'both missed events delivered',
      () => missed.every((m) => receiver.handled.some((r) => r.data.memberId === m)) || undefined,
    );
    const mine = receiver.handled.filter((r) =>
      [before, ...missed].includes(r.data.memberId as string),
    );
    assert.equal(mine.length, 3);
    for (const r of mine) assert.equal(receiver.arrivals.get(r.id), 1, `${r.id} sent once`);
  });

  it('partners see only their own subscriptions; bad input names the field', async () => {
    const { id } = await subscribe(['points.*'], t.keys.admin);
    const hidden = await t.api('GET', `/webhooks/subscriptions/${id}`, { key: t.keys.partner });
    assert.equal(hidden.status, 404);
    const list = await t.api('GET', '/webhooks/subscriptions', { key: t.keys.partner });
    assert.ok(!list.body.subscriptions.some((s: { id: string }) => s.id === id));
    const cases: [Record<string, unknown>, string][] = [
      [{ url: 'ftp://example.test/x', eventTypes: ['*'] }, 'url'],
      [{ url: 'not a url', eventTypes: ['*'] }, 'url'],
      [{ url: 'http://127.0.0.1:9/x', eventTypes: ['points.nope'] }, 'eventTypes[0]'],
      [{ url: 'http://127.0.0.1:9/x', eventTypes: [] }, 'eventTypes'],
    ];
    const before = await t.db('webhook_subscriptions').count<{ count: string }[]>();
    for (const [body, field] of cases) {
      const res = await t.api('POST', '/webhooks/subscriptions', { key: t.keys.partner, body });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.errors[0].field, field, JSON.stringify(res.body.errors));
    }
    const afterCount = await t.db('webhook_subscriptions').count<{ count: string }[]>();
    assert.equal(afterCount[0]!.count, before[0]!.count);
  });
});
