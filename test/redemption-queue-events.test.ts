/**
 * The queue's changes pushed as server-sent events (GET /redemptions/events), read by a plain node
 * http client against the real stack: each redemption that changes, in order, with the counts; a
 * reconnect with Last-Event-ID (or ?since= the list's cursor) gets only what changed after it; the
 * filters say when a redemption leaves them; the roles are the list's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startTestContext, type TestContext } from './support/context';
import { publishProgram } from './support/ledger';
import { openStream, type SseEvent } from './support/sse';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';

type Stream = ReturnType<typeof openStream>;

describe('redemption queue event stream (server-sent events)', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('redemption-queue-events');
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  const auth = () => ({ authorization: `Bearer ${t.keys.readonly}` });
  const open = (query = '', headers: Record<string, string> = {}) =>
    openStream(`${t.baseUrl}/redemptions/events${query}`, { ...auth(), ...headers });
  const changesOf = (stream: Stream, ids: string[]): SseEvent[] =>
    stream.events.filter(
      (e) => e.event === 'change' && ids.includes(e.data.redemptionId as string),
    );
  const lastId = (stream: Stream): string => stream.events.findLast((e) => e.id)!.id!;
  /** A redemption waiting for stock: it stays until cancelled. */
  const backordered = async (): Promise<string> => {
    const rewardId = await createReward(t, { pointsCost: 100, onHand: 0 });
    const memberId = await memberWithPoints(t, 500);
    const res = await redeem(t, { memberId, rewardId, backorder: true });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.redemptionId as string;
    await waitForStatus(t, id, 'backordered');
    return id;
  };
  const cancel = async (id: string): Promise<void> => {
    const res = await t.api('POST', `/redemptions/${id}/cancel`, {
      key: t.keys.ops,
      body: { reason: 'asked by phone' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const heard = (stream: Stream, id: string, status: string) =>
    eventually(`${id} ${status} to be pushed`, () =>
      changesOf(stream, [id]).some((e) => e.data.status === status) ? true : undefined,
    );

  it('pushes the changes of two redemptions in order, and a reconnect gets only the newer', async () => {
    const stream = open();
    await eventually('ready and the counts', () =>
      stream.events.some((e) => e.event === 'counts') ? true : undefined,
    );
    assert.equal(stream.status(), 200);
    assert.match(stream.contentType(), /^text\/event-stream/);
    assert.equal(stream.events[0]!.event, 'ready');
    assert.match(stream.events[0]!.id!, /^\d+$/);

    const a = await backordered();
    const b = await backordered();
    await heard(stream, b, 'backordered');
    await heard(stream, a, 'backordered');
    const firstOf = (id: string) =>
      stream.events.findIndex((e) => e.event === 'change' && e.data.redemptionId === id);
    assert.ok(firstOf(a) < firstOf(b), 'a was asked for first: heard of first');
    const change = changesOf(stream, [a]).find((e) => e.data.status === 'backordered')!;
    assert.equal(change.data.matches, true);
    const row = change.data.row as Record<string, unknown>;
    assert.equal(row.redemptionId, a);
    assert.equal(row.status, 'backordered');
    assert.equal(typeof row.atRisk, 'boolean', 'the row as the list has it');

    await cancel(a);
    await cancel(b);
    await heard(stream, b, 'cancelled');
    const cancelled = changesOf(stream, [a, b]).filter((e) => e.data.status === 'cancelled');
    assert.deepEqual(
      [...new Set(cancelled.map((e) => e.data.redemptionId))],
      [a, b],
      'the cancels in the order they were made',
    );
    await eventually('the counts to say so', () =>
      stream.events.some(
        (e) =>
          e.event === 'counts' && ((e.data.byStatus as Record<string, number>).cancelled ?? 0) >= 2,
      )
        ? true
        : undefined,
    );
    const seen = lastId(stream);
    stream.close();

    // Reconnecting after the last id it saw: nothing of a or b again, then the newer change.
    const resumed = open('', { 'last-event-id': seen });
    await eventually('ready', () => (resumed.events.length ? true : undefined));
    assert.deepEqual(resumed.events[0], { id: seen, event: 'ready', data: { cursor: seen } });
    const c = await backordered();
    await heard(resumed, c, 'backordered');
    assert.deepEqual(changesOf(resumed, [a, b]), [], 'only what changed after the id');

    // From the list's cursor: the change after the page was read, and not those before.
    const listed = await t.api('GET', '/redemptions?limit=1', { key: t.keys.readonly });
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.match(listed.body.cursor as string, /^\d+$/);
    await cancel(c);
    const fromList = open(`?since=${listed.body.cursor as string}`);
    await heard(fromList, c, 'cancelled');
    assert.deepEqual(
      changesOf(fromList, [a, b, c]).map((e) => [e.data.redemptionId, e.data.status]),
      [[c, 'cancelled']],
    );
    resumed.close();
    fromList.close();
  });

  it('under a status filter: a redemption that leaves it says so (matches false, no row)', async () => {
    const stream = open('?status=backordered');
    await eventually('ready', () => (stream.events.length ? true : undefined));
    const id = await backordered();
    await heard(stream, id, 'backordered');
    await cancel(id);
    await heard(stream, id, 'cancelled');
    const left = changesOf(stream, [id]).at(-1)!;
    assert.deepEqual(
      { matches: left.data.matches, row: left.data.row },
      { matches: false, row: null },
    );
    const counts = stream.events.findLast((e) => e.event === 'counts')!;
    assert.ok(
      (counts.data.byStatus as Record<string, number>).cancelled! >= 1,
      'the counts are not narrowed by the status filter, as GET /redemptions/counts',
    );
    stream.close();
  });

  it('takes the list’s roles and checks the cursor', async () => {
    const anonymous = await t.api('GET', '/redemptions/events', { key: null });
    assert.equal(anonymous.status, 401);
    const partner = await t.api('GET', '/redemptions/events', { key: t.keys.partner });
    assert.equal(partner.status, 403);
    const bad = await t.api('GET', '/redemptions/events?since=yesterday', {
      key: t.keys.readonly,
    });
    assert.equal(bad.status, 422);
    assert.match(bad.headers.get('content-type') ?? '', /problem\+json/);
    const badFilter = await t.api('GET', '/redemptions/events?status=nope', {
      key: t.keys.readonly,
    });
    assert.equal(badFilter.status, 422);
  });

  it('shares one LISTEN connection with the redemption streams', async () => {
    const id = await backordered();
    const queues = [open(), open('?status=backordered')];
    const one = openStream(`${t.baseUrl}/redemptions/${id}/events`, auth());
    await eventually('all three open', () =>
      [...queues, one].every((s) => s.events.length) ? true : undefined,
    );
    const { rows } = await t.db.raw<{ rows: { n: string }[] }>(
      `SELECT count(*) AS n FROM pg_stat_activity
       WHERE datname = current_database() AND query LIKE 'LISTEN %'`,
    );
    assert.equal(Number(rows[0]!.n), 1);
    for (const s of [...queues, one]) s.close();
  });
});
