/**
 * What support reads about a member, over real HTTP: finding them by id, external id or email,
 * and their ledger explained line by line (reason, rule version, source event, actor, the
 * balances after each line), which adds up to the balance shown.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestContext, uniqueId, type TestContext } from './support/context';
import { balanceOf, post, purchase } from './support/ledger';

interface Line {
  id: number;
  kind: string;
  amount: number;
  reason: string;
  actor: string;
  ruleVersion: number | null;
  sourceEventId: string | null;
  source: {
    eventId: string;
    type: string | null;
    orderId: string | null;
    occurredAt: string | null;
  } | null;
  balanceAfter: { available: number; pending: number; held: number; debt: number; total: number };
}

describe('member lookup and the ledger explained', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('member-lookup');
  });
  after(async () => {
    await t.stop();
  });

  const lookup = async (query: string, key = t.keys.readonly) => {
    const res = await t.api('GET', `/members?${query}`, { key });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body.members as { id: string }[]).map((m) => m.id);
  };

  it('finds a member by id, external id or email (any case); nothing found is an empty list', async () => {
    const externalId = uniqueId('crm');
    const email = `${uniqueId('Ada')}@Example.com`;
    const res = await t.api('POST', '/members', {
      key: t.keys.ops,
      body: { externalId, email, name: 'Ada Lovelace' },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.id as string;

    for (const query of [
      `q=${id}`,
      `q=${id.toUpperCase()}`,
      `q=${externalId}`,
      `q=${encodeURIComponent(email.toLowerCase())}`,
      `externalId=${externalId}`,
      `email=${encodeURIComponent(email.toUpperCase())}`,
      `q=${externalId}&email=${encodeURIComponent(email)}`,
    ]) {
      assert.deepEqual(await lookup(query), [id], query);
    }
    const found = await t.api('GET', `/members?q=${externalId}`, { key: t.keys.readonly });
    assert.deepEqual(found.body.members[0], {
      id,
      externalId,
      email,
      name: 'Ada Lovelace',
      status: 'active',
      tier: 'Member',
      enrolledAt: res.body.enrolledAt,
      balance: { available: 0, pending: 0, held: 0, debt: 0 },
    });
    assert.deepEqual(await lookup(`q=${uniqueId('nobody')}`), []);
    assert.deepEqual(await lookup(`externalId=${externalId}&email=someone-else@example.com`), []);

    const none = await t.api('GET', '/members', { key: t.keys.readonly });
    assert.equal(none.status, 422);
    assert.equal(none.body.errors[0].field, 'query.q');
    const partner = await t.api('GET', `/members?q=${externalId}`, { key: t.keys.partner });
    assert.equal(partner.status, 403);
  });

  it('each ledger line says why, from what and by whom; the lines add up to the balance shown', async () => {
    const enrolled = await t.api('POST', '/members', {
      key: t.keys.ops,
      body: { externalId: uniqueId('m') },
    });
    const id = enrolled.body.id as string;
    const order = purchase(id, [{ sku: 'tv', amount: 250 }]);
    assert.equal((await post(t, order)).status, 201);
    for (const points of [300, -120]) {
      const res = await t.api('POST', `/members/${id}/adjustments`, {
        key: t.keys.ops,
        body: { points, reason: `goodwill ${points}`, reference: 'CASE-1' },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }

    // Read in pages of one, so each page's running balance must carry on from the last.
    const lines: Line[] = [];
    let after: number | null = null;
    do {
      const query: string = `limit=1${after === null ? '' : `&after=${after}`}`;
      const page = await t.api('GET', `/members/${id}/ledger?${query}`, { key: t.keys.readonly });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      lines.push(...(page.body.entries as Line[]));
      after = page.body.nextAfter as number | null;
    } while (after !== null);

    const accrual = lines.find((l) => l.kind === 'accrual');
    assert.ok(accrual, JSON.stringify(lines));
    assert.deepEqual(accrual.source, {
      eventId: order.eventId,
      type: 'purchase',
      orderId: order.orderId,
      occurredAt: accrual.source!.occurredAt,
    });
    assert.ok(accrual.ruleVersion! > 0);
    assert.match(accrual.actor, /^partner:/);
    const adjustments = lines.filter((l) => l.kind === 'adjustment');
    assert.deepEqual(
      adjustments.map((l) => [l.amount, l.actor, l.source]),
      [
        [300, 'ops:member-lookup-ops', null],
        [-120, 'ops:member-lookup-ops', null],
      ],
    );
    assert.ok(adjustments.every((l) => l.reason.includes('goodwill')));

    let total = 0;
    for (const line of lines) {
      total += line.amount;
      assert.equal(line.balanceAfter.total, total, `the running total after line ${line.id}`);
      const { available, pending, held, debt } = line.balanceAfter;
      assert.equal(available + pending + held - debt, line.balanceAfter.total);
    }
    const shown = await balanceOf(t, id);
    const last = lines.at(-1)!.balanceAfter;
    assert.deepEqual(
      { available: last.available, pending: last.pending, held: last.held, debt: last.debt },
      shown,
    );
    assert.equal(total, shown.available + shown.pending + shown.held - shown.debt);
    assert.ok(total > 180, 'the purchase earned points on top of the adjustments');
  });
});
