import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultProgram } from '../domain/program';
import { requestFingerprint } from '../api/idempotency';
import { startTestContext, type TestContext } from './support/context';
import {
  assertConsistent,
  balanceOf,
  enrol,
  instantProgram,
  post,
  publishProgram,
  purchase,
} from './support/ledger';

describe('POST /events: accrual exactly once', () => {
  let t: TestContext;
  let version: number;
  before(async () => {
    t = await startTestContext('events');
    version = await publishProgram(t, {
      ...instantProgram,
      earning: {
        ...instantProgram.earning!,
        pointsPerUnit: { EUR: 2 },
        channelMultipliers: { app: 1.5 },
        categoryMultipliers: { electronics: 3, giftcards: 0 },
        eventPoints: { referral: 500, review: 50, 'app-download': 100 },
        bonuses: [{ name: 'big-basket', eventType: 'purchase', minAmount: 100, points: 25 }],
      },
    });
  });
  after(async () => {
    await t.stop();
  });

  it('earns by channel, category and bonus, records the rule version, and answers with the balance', async () => {
    const id = await enrol(t);
    const event = purchase(
      id,
      [
        { sku: 'tv', category: 'electronics', amount: 100 },
        { sku: 'card', category: 'giftcards', amount: 50 },
        { sku: 'soap', amount: 10.5 },
      ],
      { channel: 'app' },
    );
    const res = await post(t, event);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    // tv 100*2*1.5*3 = 900, card 0, soap 10.5*2*1.5 = 31.5 -> 931 base, + 25 bonus (amount >= 100)
    assert.equal(res.body.points.base, 931);
    assert.equal(res.body.points.bonus, 25);
    assert.equal(res.body.points.earned, 956);
    assert.equal(res.body.ruleVersion, version);
    assert.deepEqual(res.body.balance, { available: 956, pending: 0, held: 0, debt: 0 });

    const ledger = await t.api('GET', `/members/${id}/ledger`);
    assert.equal(ledger.status, 200);
    assert.equal(ledger.body.entries.length, 1);
    const [entry] = ledger.body.entries;
    assert.equal(entry.kind, 'accrual');
    assert.equal(entry.amount, 956);
    assert.equal(entry.sourceEventId, event.eventId);
    assert.equal(entry.ruleVersion, version);
    assert.match(entry.reason, /931 base \+ 25 bonus/);
    assert.match(entry.actor, /^partner:/);
    await assertConsistent(t, id);
  });

  it('a repeated event changes nothing and returns the first answer; other content is a 409', async () => {
    const id = await enrol(t);
    const event = purchase(id, [{ sku: 'a', amount: 10 }]);
    const first = await post(t, event);
    assert.equal(first.status, 201);
    const again = await post(t, event);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal((await balanceOf(t, id)).available, 20);

    const changed = await post(t, {
      ...event,
      amount: 20,
      lines: [{ ...event.lines[0], amount: 20 }],
    });
    assert.equal(changed.status, 409);
    assert.equal(changed.body.errors[0].field, 'eventId');
    assert.equal((await balanceOf(t, id)).available, 20);
  });

  it('concurrent replays of one event record it once', async () => {
    const id = await enrol(t);
    const event = purchase(id, [{ sku: 'a', amount: 7 }]);
    const answers = await Promise.all(Array.from({ length: 12 }, () => post(t, event)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [...Array(11).fill(200), 201]);
    for (const a of answers) assert.deepEqual(a.body, answers[0]!.body);
    assert.equal((await balanceOf(t, id)).available, 14);
    const ledger = await t.api('GET', `/members/${id}/ledger`);
    assert.equal(ledger.body.entries.length, 1);
  });

  it('Idempotency-Key: the stored answer for a repeat, 422 for another body, 409 while in flight', async () => {
    const id = await enrol(t);
    const headers = { 'Idempotency-Key': `"key-${id}"` };
    const body = { type: 'referral', eventId: `ref-${id}`, memberId: id, reference: 'friend-1' };
    const first = await t.api('POST', '/events', { body, headers, key: t.keys.partner });
    assert.equal(first.status, 201);
    const repeat = await t.api('POST', '/events', { body, headers, key: t.keys.partner });
    assert.equal(repeat.status, 201);
    assert.equal(repeat.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(repeat.body, first.body);
    const other = await t.api('POST', '/events', {
      body: { ...body, eventId: `ref2-${id}` },
      headers,
      key: t.keys.partner,
    });
    assert.equal(other.status, 422);
    assert.equal(other.body.errors[0].field, 'header.Idempotency-Key');
    assert.equal((await balanceOf(t, id)).available, 500);

    // Concurrent first attempts with one key: one runs, the others see it in flight or replay it.
    const key2 = { 'Idempotency-Key': `key2-${id}` };
    const body2 = { type: 'review', eventId: `rev-${id}`, memberId: id };
    const racing = await Promise.all(
      Array.from({ length: 8 }, () =>
        t.api('POST', '/events', { body: body2, headers: key2, key: t.keys.partner }),
      ),
    );
    const fresh = racing.filter((r) => r.status === 201 && !r.headers.get('idempotent-replayed'));
    assert.equal(fresh.length, 1);
    for (const r of racing) assert.ok([201, 409].includes(r.status), JSON.stringify(r.body));
    assert.equal((await balanceOf(t, id)).available, 550);

    // A request still in flight (its key stored, no answer yet) makes a repeat a 409.
    const partnerKey = await t
      .db<{ id: string; name: string }>('api_keys')
      .where({ name: 'events-partner' })
      .first();
    const keyId = partnerKey!.id;
    await t.db('idempotency_keys').insert({
      owner: keyId,
      key: `busy-${id}`,
      request_hash: 'in-flight',
    });
    const busy = await t.api('POST', '/events', {
      body: { type: 'review', eventId: `busy-${id}`, memberId: id },
      headers: { 'Idempotency-Key': `busy-${id}` },
      key: t.keys.partner,
    });
    assert.equal(busy.status, 422, 'a different request under a stored key');
    await t
      .db('idempotency_keys')
      .where({ key: `busy-${id}` })
      .update({ request_hash: hashOf(id) });
    const inFlight = await t.api('POST', '/events', {
      body: { type: 'review', eventId: `busy-${id}`, memberId: id },
      headers: { 'Idempotency-Key': `busy-${id}` },
      key: t.keys.partner,
    });
    assert.equal(inFlight.status, 409);
    assert.equal((await balanceOf(t, id)).available, 550);

    // Its process died: once the lease has run out, a repeat runs the request for real, once.
    await t
      .db('idempotency_keys')
      .where({ key: `busy-${id}` })
      .update({ created_at: t.db.raw("now() - interval '61 seconds'") });
    const retaken = await t.api('POST', '/events', {
      body: { memberId: id, eventId: `busy-${id}`, type: 'review' }, // the same, fields reordered
      headers: { 'Idempotency-Key': `busy-${id}` },
      key: t.keys.partner,
    });
    assert.equal(retaken.status, 201, JSON.stringify(retaken.body));
    assert.equal(retaken.headers.get('idempotent-replayed'), null);
    assert.equal(retaken.body.points.earned, 50);
    const again = await t.api('POST', '/events', {
      body: { type: 'review', eventId: `busy-${id}`, memberId: id },
      headers: { 'Idempotency-Key': `busy-${id}` },
      key: t.keys.partner,
    });
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, retaken.body);
    assert.equal((await balanceOf(t, id)).available, 600);

    // Past its time to live a key is forgotten: the same key may carry a new request.
    await t
      .db('idempotency_keys')
      .where({ key: `busy-${id}` })
      .update({ created_at: t.db.raw("now() - interval '25 hours'") });
    const reused = await t.api('POST', '/events', {
      body: { type: 'referral', eventId: `late-${id}`, memberId: id, reference: 'friend-2' },
      headers: { 'Idempotency-Key': `busy-${id}` },
      key: t.keys.partner,
    });
    assert.equal(reused.status, 201, JSON.stringify(reused.body));
    assert.equal(reused.headers.get('idempotent-replayed'), null);
    assert.equal((await balanceOf(t, id)).available, 1100);
  });

  it('Idempotency-Key: a malformed key is a 400 naming the header, and changes nothing', async () => {
    const id = await enrol(t);
    const bad = await t.api('POST', '/events', {
      body: { type: 'review', eventId: `badkey-${id}`, memberId: id },
      headers: { 'Idempotency-Key': 'has spaces in it' },
      key: t.keys.partner,
    });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.equal(bad.body.errors[0].field, 'header.Idempotency-Key');
    assert.equal((await balanceOf(t, id)).available, 0);
  });

  it('caps points per member per day and per event type per month', async () => {
    await publishProgram(t, {
      ...instantProgram,
      earning: {
        ...instantProgram.earning!,
        pointsPerUnit: { EUR: 1 },
        caps: { all: { perDay: 300 }, byEventType: { review: { perMonth: 120 } } },
        eventPoints: { review: 50 },
      },
    });
    const id = await enrol(t);
    const reviews: { earned: number; capped: number }[] = [];
    for (let i = 0; i < 3; i++)
      reviews.push(
        (await post(t, { type: 'review', eventId: `rv-${i}-${id}`, memberId: id })).body.points,
      );
    assert.deepEqual(
      reviews.map((p) => [p.earned, p.capped]),
      [
        [50, 0],
        [50, 0],
        [20, 30],
      ],
    );
    const big = await post(t, purchase(id, [{ sku: 'x', amount: 250 }]));
    assert.equal(big.body.points.earned, 180, 'the day cap leaves 300 - 120');
    assert.equal(big.body.points.capped, 70);
    const none = await post(t, purchase(id, [{ sku: 'y', amount: 10 }]));
    assert.equal(none.status, 201);
    assert.equal(none.body.points.earned, 0);
    assert.equal((await balanceOf(t, id)).available, 300);
    await assertConsistent(t, id);

    // At once, in one batch or several: the caps still count every review before the next.
    const other = await enrol(t);
    const burst = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        post(t, { type: 'review', eventId: `burst-${i}-${other}`, memberId: other }),
      ),
    );
    const earned = burst.map((r) => r.body.points.earned as number).sort((a, b) => b - a);
    assert.deepEqual(earned, [50, 50, 20, 0, 0, 0]);
    assert.equal((await balanceOf(t, other)).available, 120);
    await assertConsistent(t, other);
  });

  it('concurrent events are written in batches, yet each is answered on its own', async () => {
    await publishProgram(t, instantProgram);
    const a = await enrol(t);
    const b = await enrol(t);
    const taken = purchase(a, [{ sku: 'first', amount: 1 }]);
    const first = await post(t, taken);
    assert.equal(first.status, 201);
    const good = Array.from({ length: 40 }, (_, i) =>
      purchase(i % 2 ? a : b, [{ sku: `s${i}`, amount: 10 + i }]),
    );
    const bad: [unknown, number, string][] = [
      [{ ...purchase(a, [{ sku: 'o', amount: 3 }]), orderId: taken.orderId }, 409, 'orderId'],
      [purchase(b, [{ sku: 'c', amount: 3 }], { currency: 'JPY' }), 422, 'currency'],
      [purchase(randomUUID(), [{ sku: 'm', amount: 3 }]), 404, 'memberId'],
      [{ ...good[0]!, amount: 99, lines: [{ ...good[0]!.lines[0]!, amount: 99 }] }, 409, 'eventId'],
    ];
    const sent = [...good, good[3]!, ...bad.map(([body]) => body)];
    const answers = await Promise.all(sent.map((body) => post(t, body)));
    answers
      .slice(0, good.length)
      .forEach((r) => assert.equal(r.status, 201, JSON.stringify(r.body)));
    const repeat = answers[good.length]!;
    assert.ok([200, 201].includes(repeat.status));
    assert.deepEqual(repeat.body, answers[3]!.body, 'the same event twice: one answer');
    bad.forEach(([, status, field], i) => {
      const r = answers[good.length + 1 + i]!;
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.errors[0].field, field);
    });

    for (const member of [a, b]) {
      type Answer = {
        memberId: string;
        balance: { available: number };
        points: { earned: number };
      };
      const mine = answers
        .slice(0, good.length)
        .map((r) => r.body as Answer)
        .filter((body) => body.memberId === member)
        .sort((x, y) => x.balance.available - y.balance.available);
      // Each answer's balance is the one right after that event: a running total.
      let total = member === a ? (first.body.points.earned as number) : 0;
      for (const body of mine) {
        total += body.points.earned;
        assert.equal(body.balance.available, total);
      }
      assert.equal((await balanceOf(t, member)).available, total);
      await assertConsistent(t, member);
    }
    const [batched] = await t
      .db('ledger_events')
      .whereIn('member_id', [a, b])
      .groupBy('created_at')
      .select(t.db.raw('count(*)::int AS n'))
      .orderBy('n', 'desc');
    assert.ok(batched.n > 1, 'some events shared a transaction');
  });

  it('refuses bad input with the field and why, and changes nothing', async () => {
    await publishProgram(t, instantProgram);
    const id = await enrol(t);
    const good = purchase(id, [{ sku: 'a', amount: 10 }]);
    const cases: [string, unknown, number, string][] = [
      ['no type', { ...good, type: undefined }, 422, 'type'],
      ['unknown type', { ...good, type: 'refund' }, 422, 'type'],
      ['no eventId', { ...good, eventId: undefined }, 422, 'eventId'],
      ['both member keys', { ...good, externalId: 'x' }, 422, 'memberId'],
      ['no member key', { ...good, memberId: undefined }, 422, 'memberId'],
      ['lines do not add up', { ...good, amount: 11 }, 422, 'amount'],
      ['negative amount', { ...good, amount: -1 }, 422, 'amount'],
      [
        '3 decimals',
        { ...good, amount: 1.001, lines: [{ ...good.lines[0], amount: 1.001 }] },
        422,
        'amount',
      ],
      ['bad currency', { ...good, currency: 'euro' }, 422, 'currency'],
      ['currency not earned', { ...good, currency: 'JPY' }, 422, 'currency'],
      ['no lines', { ...good, lines: [] }, 422, 'lines'],
      [
        'zero quantity',
        { ...good, lines: [{ ...good.lines[0], quantity: 0 }] },
        422,
        'lines[0].quantity',
      ],
      [
        'duplicate sku',
        { ...good, amount: 20, lines: [good.lines[0], good.lines[0]] },
        422,
        'lines[1].sku',
      ],
      ['unknown field', { ...good, coupon: 'x' }, 422, 'coupon'],
      ['bad country', { ...good, country: 'Germany' }, 422, 'country'],
      [
        'custom type unknown to the rules',
        { type: 'custom', name: 'dance', eventId: 'c1', memberId: id },
        422,
        'name',
      ],
      [
        'unknown member',
        { ...good, memberId: '00000000-0000-4000-8000-000000000000' },
        404,
        'memberId',
      ],
      [
        'return of an unknown order',
        {
          type: 'return',
          eventId: 'r1',
          memberId: id,
          orderId: 'nope',
          lines: [{ sku: 'a', quantity: 1 }],
        },
        422,
        'orderId',
      ],
    ];
    for (const [what, body, status, field] of cases) {
      const res = await post(t, body);
      assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
      assert.match(res.headers.get('content-type') ?? '', /problem\+json/, what);
      assert.ok(
        res.body.errors.some((e: { field: string }) => e.field === field),
        `${what}: expected an error on ${field}, got ${JSON.stringify(res.body.errors)}`,
      );
    }
    const notJson = await t.api('POST', '/events', {
      rawBody: '{',
      key: t.keys.partner,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(notJson.status, 400);
    const readonly = await t.api('POST', '/events', { body: good, key: t.keys.readonly });
    assert.equal(readonly.status, 403);
    assert.deepEqual(await balanceOf(t, id), { available: 0, pending: 0, held: 0, debt: 0 });
    assert.equal((await t.db('ledger_entries').where({ member_id: id })).length, 0);
  });

  it('the same order twice under two event ids is a 409 naming orderId', async () => {
    const id = await enrol(t);
    const first = purchase(id, [{ sku: 'a', amount: 5 }]);
    assert.equal((await post(t, first)).status, 201);
    const dup = await post(t, { ...first, eventId: `${first.eventId}-again` });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.errors[0].field, 'orderId');
  });

  it('asking for a rule set validates it and names the field', async () => {
    const changes = async () =>
      Number(
        (
          await t
            .db('rule_changes')
            .whereIn('created_by', ['admin:events-admin', 'ops:events-ops'])
            .count({ n: '*' })
        )[0]!.n,
      );
    const before = await changes();
    const bad = await t.api('POST', '/rule-sets', {
      body: {
        program: {
          ...defaultProgram,
          expiry: { policy: 'never', lotLifetime: 'soon', reminderBefore: '1 day' },
        },
      },
    });
    assert.equal(bad.status, 422);
    const fields = bad.body.errors.map((e: { field: string }) => e.field);
    assert.ok(fields.includes('program.expiry.policy'), JSON.stringify(fields));
    assert.ok(fields.includes('program.expiry.lotLifetime'), JSON.stringify(fields));
    const ops = await t.api('POST', '/rule-sets', {
      body: { program: defaultProgram },
      key: t.keys.ops,
    });
    assert.equal(ops.status, 403);
    assert.equal(await changes(), before, 'neither made a change request');
    const active = await t.api('GET', '/rule-sets/active', { key: t.keys.readonly });
    assert.equal(active.status, 200);
    const again = await t.api('GET', `/rule-sets/${active.body.version}`, { key: t.keys.readonly });
    assert.deepEqual(again.body, active.body);
  });
});

function hashOf(id: string): string {
  // What the middleware fingerprints: method, path and body.
  return requestFingerprint('POST', '/events', {
    type: 'review',
    eventId: `busy-${id}`,
    memberId: id,
  });
}
