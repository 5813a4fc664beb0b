/**
 * The local partner simulators as real HTTP servers on 127.0.0.1: the gift-card provider's
 * idempotency and float, the warehouse's priority dispatch and signed callbacks, fault injection,
 * prompt shutdown, and the `partners/main.ts` process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { generateSecret, verifySignature } from '../infra/webhook-signature';
import { startGiftCards } from '../partners/giftcards';
import { parsePartnersEnv, startPartners } from '../partners/main';
import { type Shipment, startWarehouse } from '../partners/warehouse';

interface Answer {
  status: number;
  type: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
}

async function call(
  base: string,
  method: string,
  route: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    body: text ? JSON.parse(text) : undefined,
  };
}

async function until<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A webhook receiver: records each request as received and answers the next status queued. */
async function startReceiver(statuses: number[] = []) {
  const received: { headers: IncomingHttpHeaders; body: string; answered: number }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const answered = statuses.shift() ?? 204;
      received.push({ headers: req.headers, body, answered });
      res.writeHead(answered).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    close: () => new Promise((resolve) => server.close(resolve).closeAllConnections()),
  };
}

const card = { denomination: 25, currency: 'EUR', reference: 'r-1' };
const key = (value: string) => ({ headers: { 'Idempotency-Key': value } });

describe('gift-card provider', () => {
  let gc: Awaited<ReturnType<typeof startGiftCards>>;
  before(async () => {
    gc = await startGiftCards({ initialFloat: 1000, declineReferences: ['blocked'] });
  });
  after(() => gc.close());

  it('issues once per idempotency key: same answer, one card, float deducted once', async () => {
    gc.setFloat(1000);
    const first = await call(gc.url, 'POST', '/cards', { body: card, ...key('k-once') });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.status, 'issued');
    assert.equal(first.body.floatBalance, 975);
    assert.match(first.body.code, /^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$/);
    const again = await call(gc.url, 'POST', '/cards', { body: card, ...key('k-once') });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body);
    assert.deepEqual((await call(gc.url, 'GET', '/float')).body, { balance: 975, currency: 'EUR' });
    const fetched = await call(gc.url, 'GET', `/cards/${first.body.cardId}`);
    assert.equal(fetched.body.code, first.body.code);
    assert.equal(gc.cards().filter((c) => c.cardId === first.body.cardId).length, 1);
  });

  it('a lost answer (failAfterNext) is retried with the same key: the stored card, no second deduction', async () => {
    gc.setFloat(100);
    const cardsBefore = gc.cards().length;
    await call(gc.url, 'POST', '/_control/faults', { body: { failAfterNext: 1 } });
    const lost = await call(gc.url, 'POST', '/cards', { body: card, ...key('k-lost') });
    assert.equal(lost.status, 500);
    assert.equal(lost.type, 'application/problem+json; charset=utf-8');
    assert.equal(gc.float().balance, 75, 'the provider acted before the answer was lost');
    const retry = await call(gc.url, 'POST', '/cards', { body: card, ...key('k-lost') });
    assert.equal(retry.status, 200);
    assert.equal(retry.body.floatBalance, 75);
    assert.equal(gc.float().balance, 75);
    assert.equal(gc.cards().length, cardsBefore + 1);
  });

  it('the same key with another body is 422; a missing key is 400; a bad body names the fields', async () => {
    await call(gc.url, 'POST', '/cards', { body: card, ...key('k-other') });
    const other = await call(gc.url, 'POST', '/cards', {
      body: { ...card, denomination: 50 },
      ...key('k-other'),
    });
    assert.equal(other.status, 422);
    assert.deepEqual(other.body.errors, [
      { field: 'Idempotency-Key', message: 'already used with a different body' },
    ]);
    const noKey = await call(gc.url, 'POST', '/cards', { body: card });
    assert.equal(noKey.status, 400);
    assert.equal(noKey.body.errors[0].field, 'Idempotency-Key');
    const bad = await call(gc.url, 'POST', '/cards', {
      body: { denomination: 10.005, currency: 'eur' },
      ...key('k-bad'),
    });
    assert.equal(bad.status, 422);
    assert.equal(bad.type, 'application/problem+json; charset=utf-8');
    assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field).sort(), [
      'currency',
      'denomination',
    ]);
  });

  it('insufficient float is 402 with the balance, nothing deducted, and the key can be retried', async () => {
    gc.setFloat(10);
    const short = await call(gc.url, 'POST', '/cards', { body: card, ...key('k-402') });
    assert.equal(short.status, 402);
    assert.equal(short.body.type, '/problems/insufficient-float');
    assert.equal(short.body.floatBalance, 10);
    assert.equal(gc.float().balance, 10);
    await call(gc.url, 'POST', '/_control/float', { body: { balance: 30.5 } });
    const topped = await call(gc.url, 'POST', '/cards', { body: card, ...key('k-402') });
    assert.equal(topped.status, 201);
    assert.equal(topped.body.floatBalance, 5.5);
  });

  it('declines on demand: 422 declined, nothing deducted', async () => {
    gc.setFloat(100);
    assert.deepEqual((await call(gc.url, 'POST', '/_control/decline-next', {})).body, {
      declineNext: 1,
    });
    const declined = await call(gc.url, 'POST', '/cards', { body: card, ...key('k-decl') });
    assert.equal(declined.status, 422);
    assert.equal(declined.body.type, '/problems/declined');
    assert.equal(gc.float().balance, 100);
    const next = await call(gc.url, 'POST', '/cards', { body: card, ...key('k-decl') });
    assert.equal(next.status, 201);
    const blocked = { ...card, reference: 'blocked' };
    const byReference = await call(gc.url, 'POST', '/cards', { body: blocked, ...key('k-ref') });
    assert.equal(byReference.body.type, '/problems/declined');
    assert.equal(gc.declineNext(0), 0, 'a decline by reference uses no declineNext');
    assert.equal(gc.float().balance, 75);
  });

  it('failNext: the next requests fail with 5xx before doing anything, then it works', async () => {
    gc.setFloat(100);
    const set = await call(gc.url, 'POST', '/_control/faults', {
      body: { failNext: 2, failStatus: 502 },
    });
    assert.equal(set.body.failNext, 2);
    for (let i = 0; i < 2; i++) {
      const failed = await call(gc.url, 'POST', '/cards', { body: card, ...key('k-fail') });
      assert.equal(failed.status, 502);
      assert.equal(failed.body.type, '/problems/injected-fault');
      assert.equal(gc.float().balance, 100);
    }
    const ok = await call(gc.url, 'POST', '/cards', { body: card, ...key('k-fail') });
    assert.equal(ok.status, 201);
    const bad = await call(gc.url, 'POST', '/_control/faults', { body: { failRate: 2 } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.errors[0].field, 'failRate');
    await call(gc.url, 'POST', '/_control/faults', { body: { failRate: 1 } });
    assert.equal((await call(gc.url, 'GET', '/float')).status, 502, 'failStatus is kept');
    await call(gc.url, 'POST', '/_control/reset');
    assert.equal((await call(gc.url, 'GET', '/float')).status, 200);
  });

  it('voids by the issue key: card voided, float back, key closed; unknown keys too; 409 in flight', async () => {
    gc.setFloat(100);
    const issued = await call(gc.url, 'POST', '/cards', { body: card, ...key('k-void') });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const voided = await call(gc.url, 'POST', '/cards/void', key('k-void'));
    assert.equal(voided.status, 200, JSON.stringify(voided.body));
    assert.deepEqual(voided.body, { voided: issued.body.cardId, floatBalance: 100 });
    assert.equal((await call(gc.url, 'GET', `/cards/${issued.body.cardId}`)).body.status, 'voided');
    assert.deepEqual((await call(gc.url, 'POST', '/cards/void', key('k-void'))).body, voided.body);
    assert.equal(gc.float().balance, 100, 'refunded once');
    const reissue = await call(gc.url, 'POST', '/cards', { body: card, ...key('k-void') });
    assert.deepEqual(
      [reissue.status, reissue.body.type],
      [422, '/problems/idempotency-key-reused'],
    );

    // Nothing issued under the key: nothing to void, and an issue arriving late is refused.
    const none = await call(gc.url, 'POST', '/cards/void', key('k-never'));
    assert.deepEqual(none.body, { voided: null, floatBalance: 100 });
    const late = await call(gc.url, 'POST', '/cards', { body: card, ...key('k-never') });
    assert.equal(late.status, 422);
    assert.equal(gc.float().balance, 100);
    assert.equal((await call(gc.url, 'POST', '/cards/void')).status, 400, 'the key is required');

    const slow = await startGiftCards({ issueDelayMs: 300 });
    try {
      const [a, b] = await Promise.all([
        call(slow.url, 'POST', '/cards', { body: card, ...key('k-slow') }),
        new Promise((r) => setTimeout(r, 50)).then(() =>
          call(slow.url, 'POST', '/cards/void', key('k-slow')),
        ),
      ]);
      assert.deepEqual([a.status, b.status], [201, 409]);
    } finally {
      await slow.close();
    }
  });

  it('a second request while the first with its key is in flight is 409', async () => {
    const slow = await startGiftCards({ issueDelayMs: 300 });
    try {
      const [a, b] = await Promise.all([
        call(slow.url, 'POST', '/cards', { body: card, ...key('k-race') }),
        new Promise((r) => setTimeout(r, 50)).then(() =>
          call(slow.url, 'POST', '/cards', { body: card, ...key('k-race') }),
        ),
      ]);
      assert.deepEqual([a.status, b.status], [201, 409]);
      assert.equal(slow.cards().length, 1);
      assert.equal(slow.float().balance, 10_000 - 25);
    } finally {
      await slow.close();
    }
  });
});

describe('warehouse', () => {
  const shipment = (shipmentId: string, priority = 50, extra: object = {}) => ({
    shipmentId,
    sku: 'MUG-1',
    quantity: 1,
    priority,
    ...extra,
  });

  it('keeps its shipments across a restart with a state file, and owes the unanswered callbacks', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loyalty-ops-warehouse-'));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const stateFile = path.join(dir, 'shipments.jsonl');
    // The first callback is refused, so the shipped event is still owed when the warehouse stops.
    const receiver = await startReceiver([503]);
    after(() => receiver.close());
    const options = {
      autoDeliver: false,
      stateFile,
      callbackMaxDelayMs: 60_000,
      callbackInitialDelayMs: 60_000,
    };
    const first = await startWarehouse(options);
    const withCallback = shipment('keep-b', 20, { callbackUrl: receiver.url });
    let accepted: Shipment;
    try {
      accepted = (await call(first.url, 'POST', '/shipments', { body: shipment('keep-a', 10) }))
        .body;
      assert.equal(
        (await call(first.url, 'POST', '/shipments', { body: withCallback })).status,
        201,
      );
      assert.equal(
        (await call(first.url, 'POST', '/shipments', { body: shipment('keep-c') })).status,
        201,
      );
      assert.equal((await call(first.url, 'POST', '/_control/shipments/keep-b/ship')).status, 200);
      assert.equal((await call(first.url, 'POST', '/shipments/keep-c/cancel')).status, 200);
      await until('the refused callback', () => (receiver.received.length ? true : undefined));
    } finally {
      await first.close();
    }
    const firstId = receiver.received[0]!.headers['webhook-id'];

    const second = await startWarehouse(options);
    try {
      const a = await call(second.url, 'GET', '/shipments/keep-a');
      assert.equal(a.body.status, 'accepted');
      assert.equal(a.body.trackingNumber, accepted.trackingNumber, 'the same shipment');
      assert.equal((await call(second.url, 'GET', '/shipments/keep-b')).body.status, 'shipped');
      assert.equal((await call(second.url, 'GET', '/shipments/keep-c')).body.status, 'cancelled');
      const again = await call(second.url, 'POST', '/shipments', { body: shipment('keep-a', 10) });
      assert.equal(again.status, 200, 'a retried request is still recognised');
      const { body: order } = await call(second.url, 'GET', '/_control/dispatch-order');
      assert.deepEqual(order.shipmentIds, ['keep-b']);
      // The owed callback goes out again at once, under its first webhook-id.
      await until('the owed callback', () => (receiver.received.length >= 2 ? true : undefined));
      assert.equal(receiver.received[1]!.headers['webhook-id'], firstId);
      assert.equal(receiver.received[1]!.answered, 204);
      assert.equal(JSON.parse(receiver.received[1]!.body).type, 'shipment.shipped');
      assert.equal(
        (await call(second.url, 'POST', '/_control/shipments/keep-b/deliver')).status,
        200,
      );
      await until('the delivered callback', () =>
        receiver.received.length >= 3 ? true : undefined,
      );
    } finally {
      await second.close();
    }

    const third = await startWarehouse(options);
    try {
      assert.equal((await call(third.url, 'GET', '/shipments/keep-b')).body.status, 'delivered');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(receiver.received.length, 3, 'answered callbacks are not sent again');
      const { body } = await call(third.url, 'GET', '/shipments');
      assert.deepEqual(
        body.shipments.map((s: Shipment) => s.shipmentId),
        ['keep-b', 'keep-a', 'keep-c'],
      );
    } finally {
      await third.close();
    }
  });

  it('accepts idempotently by shipmentId: 201, 200 same body, 409 other content, 422 bad body', async () => {
    const wh = await startWarehouse({ autoDeliver: false });
    try {
      const body = shipment('s-1', 10, { address: { city: 'Lyon', zip: '69001' } });
      const first = await call(wh.url, 'POST', '/shipments', { body });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.equal(first.body.status, 'accepted');
      const reordered = { ...body, address: { zip: '69001', city: 'Lyon' } };
      const again = await call(wh.url, 'POST', '/shipments', { body: reordered });
      assert.deepEqual([again.status, again.body], [200, first.body]);
      const other = await call(wh.url, 'POST', '/shipments', { body: { ...body, quantity: 2 } });
      assert.equal(other.status, 409);
      const bad = await call(wh.url, 'POST', '/shipments', {
        body: { shipmentId: 's-2', sku: 'MUG-1', quantity: 0, priority: 101 },
      });
      assert.equal(bad.status, 422);
      assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field).sort(), [
        'priority',
        'quantity',
      ]);
      assert.equal((await call(wh.url, 'GET', '/shipments/s-2')).status, 404);
    } finally {
      await wh.close();
    }
  });

  it('ships in priority order (higher first, then oldest) once the dispatcher resumes', async () => {
    const wh = await startWarehouse({ paused: true, dispatchIntervalMs: 5, deliveryDelayMs: 10 });
    try {
      const priorities: [string, number][] = [
        ['a', 10],
        ['b', 50],
        ['c', 90],
        ['d', 50],
        ['e', 0],
      ];
      for (const [id, priority] of priorities) {
        assert.equal(
          (await call(wh.url, 'POST', '/shipments', { body: shipment(id, priority) })).status,
          201,
        );
      }
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(
        (await call(wh.url, 'GET', '/shipments?status=accepted')).body.shipments.length,
        5,
      );
      await call(wh.url, 'POST', '/_control/resume');
      const delivered = await until('all delivered', async () => {
        const { body } = await call(wh.url, 'GET', '/shipments?status=delivered');
        const shipments = body.shipments as Shipment[];
        return shipments.length === 5 ? shipments : undefined;
      });
      const expected = ['c', 'b', 'd', 'a', 'e'];
      assert.deepEqual(
        delivered.map((s) => s.shipmentId),
        expected,
      );
      const order = await call(wh.url, 'GET', '/_control/dispatch-order');
      assert.deepEqual(order.body.shipmentIds, expected);
    } finally {
      await wh.close();
    }
  });

  it('posts signed shipped then delivered callbacks that verify with the secret', async () => {
    const secret = generateSecret();
    const receiver = await startReceiver();
    const wh = await startWarehouse({ webhookSecret: secret, deliveryDelayMs: 20 });
    try {
      const body = shipment('s-cb', 50, { callbackUrl: receiver.url });
      const accepted = await call(wh.url, 'POST', '/shipments', { body });
      await until('two callbacks', () => (receiver.received.length >= 2 ? true : undefined));
      const events = receiver.received.map((r) => {
        const verified = verifySignature([secret], r.headers, r.body);
        assert.equal(verified.ok, true, JSON.stringify(verified));
        assert.equal(r.headers['content-type'], 'application/json');
        const event: Record<string, unknown> = JSON.parse(r.body);
        event.id = r.headers['webhook-id'];
        return event;
      });
      assert.deepEqual(
        events.map((e) => e.type),
        ['shipment.shipped', 'shipment.delivered'],
      );
      assert.notEqual(events[0]!.id, events[1]!.id);
      const shipped = await call(wh.url, 'GET', '/shipments/s-cb');
      assert.deepEqual(events[1], {
        id: events[1]!.id,
        type: 'shipment.delivered',
        shipmentId: 's-cb',
        trackingNumber: accepted.body.trackingNumber,
        deliveredAt: shipped.body.deliveredAt,
      });
      assert.equal(
        verifySignature(
          [generateSecret()],
          receiver.received[0]!.headers,
          receiver.received[0]!.body,
        ).ok,
        false,
      );
    } finally {
      await wh.close();
      await receiver.close();
    }
  });

  it('retries a callback the receiver refused, with the same webhook-id, until it is taken', async () => {
    const secret = generateSecret();
    const receiver = await startReceiver([500, 503]);
    const wh = await startWarehouse({
      webhookSecret: secret,
      autoDeliver: false,
      callbackInitialDelayMs: 20,
    });
    try {
      await call(wh.url, 'POST', '/shipments', {
        body: shipment('s-retry', 1, { callbackUrl: receiver.url }),
      });
      const shipped = await call(wh.url, 'POST', '/_control/shipments/s-retry/ship');
      assert.equal(shipped.body.status, 'shipped');
      await until('3 attempts', () => (receiver.received.length >= 3 ? true : undefined));
      assert.deepEqual(
        receiver.received.map((r) => r.answered),
        [500, 503, 204],
      );
      assert.equal(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size, 1);
      assert.equal(new Set(receiver.received.map((r) => r.body)).size, 1);
      for (const r of receiver.received)
        assert.equal(verifySignature([secret], r.headers, r.body).ok, true);
      const { body } = await call(wh.url, 'GET', '/_control/callbacks');
      assert.equal(body.callbacks[0].status, 'delivered');
      assert.equal(body.callbacks[0].attempts, 3);
    } finally {
      await wh.close();
      await receiver.close();
    }
  });

  it('manual mode: shipments wait for ship/deliver; a lost one calls back only if it turns up', async () => {
    const receiver = await startReceiver();
    const wh = await startWarehouse({ autoDeliver: false, dispatchIntervalMs: 1 });
    try {
      for (const id of ['m-1', 'm-2']) {
        await call(wh.url, 'POST', '/shipments', {
          body: shipment(id, 5, { callbackUrl: receiver.url }),
        });
      }
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await call(wh.url, 'GET', '/shipments/m-1')).body.status, 'accepted');
      assert.equal(
        (await call(wh.url, 'POST', '/_control/shipments/m-1/deliver')).body.status,
        'delivered',
      );
      assert.equal(
        (await call(wh.url, 'POST', '/_control/shipments/m-2/lose')).body.status,
        'lost',
      );
      await until('m-1 callbacks', () => (receiver.received.length >= 2 ? true : undefined));
      await new Promise((r) => setTimeout(r, 50));
      const about = () => receiver.received.map((r) => JSON.parse(r.body).shipmentId as string);
      assert.deepEqual(about(), ['m-1', 'm-1']);
      // A parcel given up as lost may turn up after all: delivered then, with its (late) callback.
      assert.equal(
        (await call(wh.url, 'POST', '/_control/shipments/m-2/deliver')).body.status,
        'delivered',
      );
      await until('m-2 callback', () => (receiver.received.length >= 3 ? true : undefined));
      assert.deepEqual(about(), ['m-1', 'm-1', 'm-2']);
    } finally {
      await wh.close();
      await receiver.close();
    }
  });

  it('cancels a shipment only while it waits: 200 (also when repeated), 409 once shipped, 404 unknown', async () => {
    const wh = await startWarehouse({ paused: true, dispatchIntervalMs: 1 });
    try {
      for (const id of ['c-1', 'c-2']) {
        await call(wh.url, 'POST', '/shipments', { body: shipment(id) });
      }
      const cancelled = await call(wh.url, 'POST', '/shipments/c-1/cancel', { body: {} });
      assert.deepEqual([cancelled.status, cancelled.body.status], [200, 'cancelled']);
      assert.equal((await call(wh.url, 'POST', '/shipments/c-1/cancel')).status, 200);
      wh.resume();
      await until('c-2 shipped', () => (wh.dispatchOrder().length ? true : undefined));
      await new Promise((r) => setTimeout(r, 30));
      assert.deepEqual(wh.dispatchOrder(), ['c-2'], 'a cancelled shipment never ships');
      assert.equal((await call(wh.url, 'POST', '/shipments/c-2/cancel')).status, 409);
      assert.equal((await call(wh.url, 'POST', '/shipments/nope/cancel')).status, 404);
    } finally {
      await wh.close();
    }
  });

  it('failNext answers 503 before accepting anything; then the same request is accepted', async () => {
    const wh = await startWarehouse({ autoDeliver: false });
    try {
      await call(wh.url, 'POST', '/_control/faults', { body: { failNext: 1 } });
      const failed = await call(wh.url, 'POST', '/shipments', { body: shipment('f-1') });
      assert.equal(failed.status, 503);
      assert.equal((await call(wh.url, 'GET', '/shipments/f-1')).status, 404);
      assert.equal(
        (await call(wh.url, 'POST', '/shipments', { body: shipment('f-1') })).status,
        201,
      );
    } finally {
      await wh.close();
    }
  });
});

describe('timeouts and shutdown', () => {
  it('close() ends requests held by timeoutRate or latency promptly', async () => {
    const wh = await startWarehouse();
    const gc = await startGiftCards();
    await call(wh.url, 'POST', '/_control/faults', { body: { timeoutRate: 1 } });
    await call(gc.url, 'POST', '/_control/faults', { body: { latencyMs: 60_000 } });
    const pending = [fetch(`${wh.url}/shipments/x`), fetch(`${gc.url}/float`)];
    await until('held requests', () =>
      wh.faults.holding() + gc.faults.holding() === 2 ? true : undefined,
    );
    const closed = Promise.all([wh.close(), gc.close()]).then(() => 'closed');
    const late = new Promise((resolve) => setTimeout(resolve, 1_000, 'still open after 1 s'));
    assert.equal(await Promise.race([closed, late]), 'closed');
    const outcomes = await Promise.allSettled(pending);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected'],
      'the held requests end without an answer',
    );
  });

  it('partners/main.ts runs both on the configured ports and stops cleanly on SIGTERM', async () => {
    const inProcess = await startPartners({
      WAREHOUSE_PORT: 0,
      GIFTCARD_PORT: 0,
      LOG_LEVEL: 'silent',
    });
    assert.equal((await call(inProcess.giftCards.url, 'GET', '/float')).status, 200);
    await inProcess.close();

    const root = path.resolve(__dirname, '..');
    const child = spawn(process.execPath, ['--import', 'tsx', 'partners/main.ts'], {
      cwd: root,
      env: { ...process.env, WAREHOUSE_PORT: '0', GIFTCARD_PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const started = await until(
      'the URLs in the log',
      () => {
        const line = output.split('\n').find((l) => l.includes('"warehouse"'));
        return line ? (JSON.parse(line) as { warehouse: string; giftcards: string }) : undefined;
      },
      20_000,
    );
    assert.equal((await call(started.warehouse, 'GET', '/shipments')).status, 200);
    assert.equal((await call(started.giftcards, 'GET', '/float')).status, 200);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);

    const bad = spawn(process.execPath, ['--import', 'tsx', 'partners/main.ts'], {
      cwd: root,
      env: { ...process.env, GIFTCARD_PORT: 'ninety' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let errors = '';
    bad.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const [badCode] = (await once(bad, 'exit')) as [number | null];
    assert.equal(badCode, 78);
    assert.match(errors, /GIFTCARD_PORT/);
  });

  it('WAREHOUSE_DISPATCH_MS sets how often a parcel leaves; a bad value names the key', async () => {
    const shipOne = async (dispatchMs: string) => {
      const settings = parsePartnersEnv({ WAREHOUSE_DISPATCH_MS: dispatchMs, LOG_LEVEL: 'silent' });
      const partners = await startPartners({ ...settings, WAREHOUSE_PORT: 0, GIFTCARD_PORT: 0 });
      try {
        const body = { shipmentId: 'd-1', sku: 'sku-1', quantity: 1, priority: 0 };
        assert.equal(
          (await call(partners.warehouse.url, 'POST', '/shipments', { body })).status,
          201,
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        return partners.warehouse.get('d-1').status;
      } finally {
        await partners.close();
      }
    };
    assert.equal(await shipOne('60000'), 'accepted', 'the first dispatch is a minute away');
    assert.notEqual(await shipOne('5'), 'accepted', 'gone within 300 ms');
    assert.throws(() => parsePartnersEnv({ WAREHOUSE_DISPATCH_MS: '0' }), /WAREHOUSE_DISPATCH_MS/);
  });
});
