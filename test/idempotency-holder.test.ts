/**
 * An `Idempotency-Key` lease names the API process holding it: a retry of a request whose process
 * died (its heartbeat in `api_instances` stopped) runs at once instead of getting 409 for the
 * whole lease; one held by a live process still gets 409, until that process stops beating.
 * The other processes are rows, as they would be; this app's own heartbeat is real.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { requestFingerprint } from '../api/idempotency';
import { startTestContext, uniqueId, type TestContext } from './support/context';
import { balanceOf, enrol } from './support/ledger';

describe('Idempotency-Key leases and their holders', () => {
  let t: TestContext;
  let memberId: string;
  let owner: string;
  before(async () => {
    // A lease far longer than the test: only the holder's heartbeat can end it.
    t = await startTestContext('idempotency-holder', {
      IDEMPOTENCY_HEARTBEAT_MS: 200,
      IDEMPOTENCY_LEASE_SECONDS: 3600,
    });
    memberId = await enrol(t);
    const warm = uniqueId('warm');
    const first = await post(warm, referral('warm'));
    assert.equal(first.status, 201, JSON.stringify(first.body));
    owner = ((await t.db('idempotency_keys').where({ key: warm }).first()) as { owner: string })
      .owner;
  });
  after(async () => {
    await t.stop();
  });

  const referral = (name: string) => ({
    type: 'referral',
    eventId: uniqueId(name),
    memberId,
    reference: `friend-${name}`,
  });
  const post = (key: string, body: Record<string, unknown>) =>
    t.api('POST', '/events', { body, headers: { 'Idempotency-Key': key }, key: t.keys.partner });

  /** Another API process, beating `secondsAgo` ago, holding `key` for `body` unanswered. */
  async function heldBy(secondsAgo: number, key: string, body: Record<string, unknown>) {
    const holder = randomUUID();
    await t.db('api_instances').insert({
      id: holder,
      host: 'elsewhere',
      pid: 1,
      heartbeat_at: t.db.raw(`now() - make_interval(secs => ?)`, [secondsAgo]),
    });
    await t.db('idempotency_keys').insert({
      owner,
      key,
      request_hash: requestFingerprint('POST', '/events', body),
      holder,
    });
    return holder;
  }

  it('this API process keeps a heartbeat', async () => {
    const fresh = await t
      .db('api_instances')
      .where('heartbeat_at', '>', t.db.raw(`now() - interval '2 seconds'`));
    assert.ok(fresh.length >= 1);
  });

  it('a lease held by a dead process is taken over at once: the retry runs, once', async () => {
    const before = (await balanceOf(t, memberId)).available;
    const key = uniqueId('dead');
    const body = referral('dead');
    await heldBy(60, key, body);
    const retry = await post(key, body);
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
    const again = await post(key, body);
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const gained = (await balanceOf(t, memberId)).available - before;
    assert.equal(gained, retry.body.points.earned, 'one effect');
    assert.ok(gained > 0, 'the event was recorded');
  });

  it('a lease held by a live process is still a 409, until that process stops beating', async () => {
    const key = uniqueId('live');
    const body = referral('live');
    const holder = await heldBy(0, key, body);
    const beat = setInterval(() => {
      // (a knex builder runs only once awaited or then-ed)
      t.db('api_instances')
        .where({ id: holder })
        .update({ heartbeat_at: t.db.fn.now() })
        .then(
          () => undefined,
          () => undefined,
        );
    }, 100);
    try {
      await new Promise((resolve) => setTimeout(resolve, 800)); // past three missed beats
      const blocked = await post(key, body);
      assert.equal(blocked.status, 409, JSON.stringify(blocked.body));
      assert.match(blocked.body.detail, /still in progress/);
    } finally {
      clearInterval(beat);
    }
    await new Promise((resolve) => setTimeout(resolve, 800)); // three beats missed: dead
    const retry = await post(key, body);
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
  });
});
