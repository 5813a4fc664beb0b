/**
 * Webhook deliveries as a queue per subscription (issue #12), on the real server and Postgres,
 * with partners' endpoints as real HTTP servers: one workflow per subscription and none per
 * delivery; an endpoint that keeps failing opens a circuit (only its oldest delivery is retried)
 * while another subscription keeps pace; ordered delivery per member; and per-delivery workflows
 * started before the change still finish.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { wakeSubscription } from '../webhooks/start';
import { eventually, startTestContext, type TestContext } from './support/context';
import { enrol, instantProgram, publishProgram } from './support/ledger';
import { startReceiver, type Receiver } from './support/receiver';

interface Delivery {
  id: number;
  eventId: number;
  webhookId: string;
  status: string;
  attempts: { attempt: number; statusCode: number | null }[];
}

describe('webhook delivery queues', () => {
  let t: TestContext;
  const receivers: Receiver[] = [];
  before(async () => {
    t = await startTestContext(
      'webhook-queue',
      {
        WEBHOOK_RETRY_SCHEDULE: '300ms,300ms,500ms,500ms,1s,1s,1s,1s',
        WEBHOOK_POLL_MS: 100,
        WEBHOOK_CIRCUIT_FAILURES: 3,
      },
      { webhooks: true },
    );
    await publishProgram(t, instantProgram);
  });
  after(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await t.stop();
  });

  const subscribe = async (extra: Record<string, unknown> = {}) => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const res = await t.api('POST', '/webhooks/subscriptions', {
      key: t.keys.partner,
      body: { url: receiver.url, eventTypes: ['points.adjusted'], ...extra },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    receiver.secrets.push(res.body.secret as string);
    return { receiver, id: res.body.subscription.id as string };
  };

  const adjust = async (memberId: string, points: number) => {
    const res = await t.api('POST', `/members/${memberId}/adjustments`, {
      body: { points, reason: 'queue test' },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  };

  /** The delivery log, oldest first. */
  const deliveries = async (subscriptionId: string): Promise<Delivery[]> => {
    const res = await t.api('GET', `/webhooks/subscriptions/${subscriptionId}/deliveries`, {
      key: t.keys.partner,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body.deliveries as Delivery[]).reverse();
  };

  const mine = (receiver: Receiver, memberId: string) =>
    receiver.handled.filter((r) => r.data.memberId === memberId);

  it('a failing endpoint retries only its oldest delivery; the other keeps pace; back up, each once', async () => {
    const live = await subscribe();
    const failing = await subscribe();
    failing.receiver.mode = 'down';
    const memberId = await enrol(t);
    await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((points) => adjust(memberId, points)));

    await eventually('all eight at the live endpoint', () =>
      mine(live.receiver, memberId).length === 8 ? true : undefined,
    );
    // Retried by its schedule (0.3 s, 0.3 s, 0.5 s...), the oldest reaches a fourth attempt in
    // about 1.1 s; without the circuit, every delivery would have as many by then.
    const log = await eventually('the oldest delivery retried three times', async () => {
      const rows = await deliveries(failing.id);
      return rows.length === 8 && rows[0]!.attempts.length >= 4 ? rows : undefined;
    });
    const [head, ...others] = log;
    for (const d of others) assert.ok(d.attempts.length <= 2, JSON.stringify(d));
    const total = log.reduce((n, d) => n + d.attempts.length, 0);
    assert.ok(total <= head!.attempts.length + 2 * others.length, `${total} attempts`);
    assert.equal(failing.receiver.handled.length, 0);

    failing.receiver.mode = 'ok';
    await eventually('all eight at the endpoint once it is back', () =>
      mine(failing.receiver, memberId).length === 8 ? true : undefined,
    );
    assert.deepEqual(
      mine(failing.receiver, memberId)
        .map((r) => r.data.points)
        .sort(),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    for (const receiver of [live.receiver, failing.receiver])
      for (const r of mine(receiver, memberId))
        assert.equal(receiver.arrivals.get(r.id), 1, `${r.id} arrived once`);
    const settled = await eventually('the log to show all eight delivered', async () => {
      const rows = await deliveries(failing.id);
      return rows.every((d) => d.status === 'delivered') ? rows : undefined;
    });
    assert.equal(settled[0]!.attempts[0]!.statusCode, 503);
    assert.equal(settled[0]!.attempts.at(-1)!.statusCode, 204);
    const disabled = await t.api('GET', `/webhooks/subscriptions/${failing.id}`, {
      key: t.keys.partner,
    });
    assert.equal(disabled.body.status, 'enabled', 'the circuit closed; nothing was disabled');

    // One workflow per subscription, none per delivery.
    const count = async (query: string) => {
      const ids: string[] = [];
      for await (const w of t.env.client.workflow.list({
        query: `${query} AND TaskQueue = "${t.config.TEMPORAL_TASK_QUEUE}"`,
      }))
        ids.push(w.workflowId);
      return ids;
    };
    assert.deepEqual(await count('WorkflowType = "webhookDeliveryWorkflow"'), []);
    const running = await eventually('the subscription workflows listed', async () => {
      const ids = await count(
        'WorkflowType = "webhookSubscriptionWorkflow" AND ExecutionStatus = "Running"',
      );
      return ids.includes(`webhook-subscription:${failing.id}`) &&
        ids.includes(`webhook-subscription:${live.id}`)
        ? ids
        : undefined;
    });
    assert.equal(new Set(running).size, running.length, 'one each');
  });

  it("ordered by member: a member's next event waits while one before it is retried", async () => {
    const { receiver, id } = await subscribe({ orderedByMember: true });
    const shown = await t.api('GET', `/webhooks/subscriptions/${id}`, { key: t.keys.partner });
    assert.equal(shown.body.orderedByMember, true);
    receiver.mode = 'down';
    const [a, b] = [await enrol(t), await enrol(t)];
    for (const points of [1, 2, 3]) await adjust(a, points);
    await adjust(b, 10);

    const log = await eventually("a's first event retried", async () => {
      const rows = await deliveries(id);
      return rows.length === 4 && rows[0]!.attempts.length >= 2 ? rows : undefined;
    });
    assert.deepEqual(
      log.slice(1, 3).map((d) => d.attempts.length),
      [0, 0],
      "a's later events are not sent before its first",
    );
    assert.ok(log[3]!.attempts.length >= 1, "b's event is not held up by a's");

    receiver.mode = 'ok';
    await eventually('all four delivered', () =>
      mine(receiver, a).length === 3 && mine(receiver, b).length === 1 ? true : undefined,
    );
    assert.deepEqual(
      mine(receiver, a).map((r) => r.data.points),
      [1, 2, 3],
      'in the order they happened',
    );
    const patched = await t.api('PATCH', `/webhooks/subscriptions/${id}`, {
      key: t.keys.partner,
      body: { orderedByMember: false },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.orderedByMember, false);
    const bad = await t.api('PATCH', `/webhooks/subscriptions/${id}`, {
      key: t.keys.partner,
      body: { orderedByMember: 'yes' },
    });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.errors[0].field, 'orderedByMember');
  });

  it('a per-delivery workflow started before the queue still finishes its delivery, alone', async () => {
    const { receiver, id } = await subscribe({ eventTypes: ['giftcard.float_low'] });
    const memberId = await enrol(t);
    await adjust(memberId, 7);
    const event = await eventually('the event claimed', async () => {
      const row: { id: number } | undefined = await t
        .db('program_events')
        .where({ member_id: memberId, type: 'points.adjusted' })
        .whereNotNull('dispatched_at')
        .first('id');
      return row;
    });
    // As the dispatcher before issue #12 left it: a delivery with its workflow started.
    const [row] = await t
      .db('webhook_deliveries')
      .insert({ subscription_id: id, event_id: event.id, started_at: new Date() })
      .returning('id');
    const deliveryId = Number(row.id);
    const result = await t.env.client.workflow.execute('webhookDeliveryWorkflow', {
      workflowId: `webhook:${id}:${event.id}`,
      taskQueue: t.config.TEMPORAL_TASK_QUEUE,
      args: [{ deliveryId, scheduleMs: [300, 300] }],
    });
    assert.equal(result, 'delivered');
    assert.equal(receiver.arrivals.get(`msg_${event.id}`), 1);
    // The queue leaves it alone: woken, it finds nothing of its own to send.
    await wakeSubscription(t.env.client, t.config, id);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(receiver.arrivals.get(`msg_${event.id}`), 1, 'sent once');
    const [logged] = await deliveries(id);
    assert.deepEqual(
      [logged!.id, logged!.status, logged!.attempts.length],
      [deliveryId, 'delivered', 1],
    );
  });
});
