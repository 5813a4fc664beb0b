/**
 * The rewards catalog against the real API and Postgres: rewards and their validation, stock
 * reservations and their arithmetic under concurrency, low-stock replenishment requests, coupon
 * pools, and substitutes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { problemOf } from '../api/errors';
import { assignCoupon, couponStock, importCoupons, releaseCoupon } from '../catalog/coupons';
import {
  getInventory,
  getReservation,
  releaseStock,
  replenish,
  reserveStock,
  returnStock,
  shipStock,
  type ReservationRow,
} from '../catalog/inventory';
import { findSubstitutes, getReward, type RewardRow } from '../catalog/rewards';
import { Refusal, RefusalKind } from '../domain/refusal';
import { createDb, type Db } from '../infra/db';
import { startTestContext, uniqueId, type ApiResponse, type TestContext } from './support/context';
import { publishProgram } from './support/ledger';

/** Rejects with a refusal the API answers with this status, naming this field. */
async function rejectsWith(work: Promise<unknown>, status: number, field: string): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof Refusal, String(err));
    assert.equal(problemOf(err).status, status, err.message);
    assert.equal(err.errors[0]?.field, field, err.message);
    return true;
  });
}

interface EventRow {
  type: string;
  dedupe_key: string;
  member_id: string | null;
  payload: Record<string, unknown>;
}

/** Lets a refusal for no such reservation through as null; anything else fails the test. */
const unlessUnknown = (err: unknown): null => {
  if (err instanceof Refusal && err.kind === RefusalKind.NotFound) return null;
  throw err;
};

const physical = (extra: Record<string, unknown> = {}) => ({
  id: uniqueId('sku'),
  kind: 'physical',
  name: 'Espresso cup',
  category: 'kitchen',
  pointsCost: 1200,
  cashValue: 12.5,
  currency: 'EUR',
  inventory: { onHand: 10, threshold: 0 },
  ...extra,
});

describe('rewards catalog', () => {
  let t: TestContext;
  /** A bigger pool than the API's, so concurrent callers really are concurrent. */
  let db: Db;
  before(async () => {
    t = await startTestContext('catalog');
    // The default tiers (Member, Silver, Gold, Platinum): another file may have published others.
    await publishProgram(t);
    db = createDb({ url: t.config.DATABASE_URL, poolMax: 25 });
  });
  after(async () => {
    await db.destroy();
    await t.stop();
  });

  async function create(body: Record<string, unknown>): Promise<ApiResponse['body']> {
    const res = await t.api('POST', '/rewards', { body });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }

  const eventsOf = (type: string, sku: string) =>
    t
      .db<EventRow>('program_events')
      .where({ type })
      .whereRaw(`payload->>'sku' = ?`, [sku])
      .orderBy('id');

  describe('rewards', () => {
    it('creates each kind (201 with Location); a repeat is 200, other details a 409', async () => {
      const cup = physical({ tiersAllowed: ['Gold', 'Silver'] });
      const first = await t.api('POST', '/rewards', { body: cup });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.equal(first.headers.get('location'), `/rewards/${cup.id}`);
      assert.deepEqual(first.body.substitution, {
        mode: 'none',
        sameCategory: true,
        cashValueBand: 0.2,
        approvalDeadline: '2 days',
        reminderBefore: '1 day',
      });
      assert.equal(first.body.active, true);
      assert.equal(first.body.cashValue, 12.5);
      assert.deepEqual(
        [
          first.body.inventory.onHand,
          first.body.inventory.reserved,
          first.body.inventory.available,
        ],
        [10, 0, 10],
      );
      assert.equal(first.body.coupons, null);

      const again = await t.api('POST', '/rewards', {
        body: { ...cup, tiersAllowed: ['Silver', 'Gold'] },
      });
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, first.body);

      const other = await t.api('POST', '/rewards', {
        body: { ...cup, pointsCost: 999, name: 'Mug' },
      });
      assert.equal(other.status, 409);
      assert.deepEqual(other.body.errors.map((e: { field: string }) => e.field).sort(), [
        'name',
        'pointsCost',
      ]);
      assert.deepEqual((await t.api('GET', `/rewards/${cup.id}`)).body, first.body);

      // Ids may hold a slash (sent percent-encoded).
      const card = await create({
        id: `gift/${uniqueId('card')}`,
        kind: 'gift_card',
        name: 'Bookshop 25',
        category: 'books',
        pointsCost: 2500,
        cashValue: 25,
        currency: 'EUR',
        provider: 'bookshop',
        denomination: 25,
      });
      assert.deepEqual([card.provider, card.denomination, card.inventory], ['bookshop', 25, null]);
      const fetched = await t.api('GET', `/rewards/${encodeURIComponent(card.id)}`);
      assert.equal(fetched.status, 200);
      assert.equal(fetched.body.id, card.id);

      const coupon = await create({ ...physical(), kind: 'coupon', inventory: undefined });
      assert.deepEqual(coupon.coupons, { total: 0, available: 0, used: 0 });
      assert.equal(coupon.inventory, null);
    });

    it('lists by kind, category and active, in pages; 404 for an unknown id', async () => {
      const category = uniqueId('cat').replace(/-/g, '_');
      const a = await create(physical({ id: `${category}-a`, category }));
      const b = await create(physical({ id: `${category}-b`, category, active: false }));
      const c = await create({
        ...physical({ id: `${category}-c`, category }),
        kind: 'coupon',
        inventory: undefined,
      });
      const ids = async (query: string) => {
        const res = await t.api('GET', `/rewards?category=${category}${query}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return (res.body.rewards as { id: string }[]).map((r) => r.id);
      };
      assert.deepEqual(await ids(''), [a.id, b.id, c.id]);
      assert.deepEqual(await ids('&kind=coupon'), [c.id]);
      assert.deepEqual(await ids('&active=false'), [b.id]);
      assert.deepEqual(await ids('&active=true&kind=physical'), [a.id]);

      const page = await t.api('GET', `/rewards?category=${category}&limit=2`);
      assert.equal(page.body.nextAfter, b.id);
      const next = await t.api('GET', `/rewards?category=${category}&limit=2&after=${b.id}`);
      assert.deepEqual(
        next.body.rewards.map((r: { id: string }) => r.id),
        [c.id],
      );
      assert.equal(next.body.nextAfter, null);
      assert.equal(next.body.rewards[0].coupons.total, 0);

      const bad = await t.api('GET', '/rewards?kind=voucher&limit=0');
      assert.equal(bad.status, 422);
      assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field).sort(), [
        'query.kind',
        'query.limit',
      ]);
      const unknown = await t.api('GET', `/rewards/${uniqueId('nope')}`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.errors[0].field, 'id');
    });

    it('refuses bad rewards with a 422 naming the field, and creates nothing', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ id: 'has space' }, 'id'],
        [{ kind: 'voucher' }, 'kind'],
        [{ name: '' }, 'name'],
        [{ name: undefined }, 'name'],
        [{ category: 'has space' }, 'category'],
        [{ pointsCost: 0 }, 'pointsCost'],
        [{ pointsCost: 1.5 }, 'pointsCost'],
        [{ cashValue: -1 }, 'cashValue'],
        [{ cashValue: 1.234 }, 'cashValue'],
        [{ currency: 'eur' }, 'currency'],
        [{ tiersAllowed: ['Gold', 'Gold'] }, 'tiersAllowed'],
        [{ tiersAllowed: ['Member', 'Diamond'] }, 'tiersAllowed[1]'],
        [{ substitution: { mode: 'sometimes' } }, 'substitution.mode'],
        [{ substitution: { cashValueBand: 1.5 } }, 'substitution.cashValueBand'],
        [{ substitution: { approvalDeadline: 'soon' } }, 'substitution.approvalDeadline'],
        [
          { substitution: { approvalDeadline: '1 hour', reminderBefore: '2 hours' } },
          'substitution.reminderBefore',
        ],
        [{ substitution: { colour: 'red' } }, 'substitution.colour'],
        [{ denomination: 10 }, 'denomination'],
        [{ provider: 'bookshop' }, 'provider'],
        [{ kind: 'gift_card', inventory: undefined, denomination: 10 }, 'provider'],
        [{ kind: 'gift_card', inventory: undefined, provider: 'bookshop' }, 'denomination'],
        [{ kind: 'coupon' }, 'inventory'],
        [{ inventory: { onHand: -1 } }, 'inventory.onHand'],
        [{ inventory: { onHand: 1, threshold: 0.5 } }, 'inventory.threshold'],
        [{ colour: 'red' }, 'colour'],
      ];
      for (const [change, field] of cases) {
        const body = physical(change);
        const res = await t.api('POST', '/rewards', { body });
        assert.equal(res.status, 422, `${JSON.stringify(change)}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.type, '/problems/validation');
        assert.ok(
          res.body.errors.some((e: { field: string }) => e.field === field),
          `${JSON.stringify(change)} names ${field}: ${JSON.stringify(res.body.errors)}`,
        );
        if (typeof body.id === 'string' && !body.id.includes(' '))
          assert.equal(await getReward(t.db, body.id), undefined, JSON.stringify(change));
      }
      const notJson = await t.api('POST', '/rewards', {
        rawBody: 'id=x',
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(notJson.status, 415);
    });

    it('PATCH changes what it names, refuses bad input (422, nothing changed) and unknown ids', async () => {
      const cup = await create(physical({ tiersAllowed: ['Gold'] }));
      const res = await t.api('PATCH', `/rewards/${cup.id}`, {
        body: {
          name: 'Big cup',
          pointsCost: 1500,
          substitution: { mode: 'auto' },
          tiersAllowed: [],
        },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.name, 'Big cup');
      assert.equal(res.body.pointsCost, 1500);
      assert.deepEqual(res.body.tiersAllowed, []);
      assert.equal(res.body.substitution.mode, 'auto');
      assert.equal(res.body.substitution.cashValueBand, 0.2);
      assert.equal(res.body.cashValue, cup.cashValue);
      assert.equal(res.body.inventory.onHand, 10);
      assert.ok(res.body.updatedAt > cup.updatedAt);

      const unchanged = await t.api('PATCH', `/rewards/${cup.id}`, { body: { name: 'Big cup' } });
      assert.equal(unchanged.body.updatedAt, res.body.updatedAt, 'no change, no update');

      const cases: [Record<string, unknown>, string][] = [
        [{}, '(body)'],
        [{ pointsCost: 0 }, 'pointsCost'],
        [{ cashValue: 'ten' }, 'cashValue'],
        [{ active: 'no' }, 'active'],
        [{ kind: 'coupon' }, 'kind'],
        [{ category: 'other' }, 'category'],
        [{ tiersAllowed: ['Diamond'] }, 'tiersAllowed[0]'],
        [{ substitution: { mode: 'auto', cashValueBand: -0.1 } }, 'substitution.cashValueBand'],
        [
          { name: 'Fine', substitution: { reminderBefore: '3 days' } },
          'substitution.reminderBefore',
        ],
      ];
      for (const [body, field] of cases) {
        const bad = await t.api('PATCH', `/rewards/${cup.id}`, { body });
        assert.equal(bad.status, 422, `${JSON.stringify(body)}: ${JSON.stringify(bad.body)}`);
        assert.ok(
          bad.body.errors.some((e: { field: string }) => e.field === field),
          `${JSON.stringify(body)} names ${field}: ${JSON.stringify(bad.body.errors)}`,
        );
      }
      assert.deepEqual((await t.api('GET', `/rewards/${cup.id}`)).body, unchanged.body);

      const unknown = await t.api('PATCH', `/rewards/${uniqueId('nope')}`, { body: { name: 'x' } });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.errors[0].field, 'id');
    });

    it('only admins write the catalog; readonly reads it', async () => {
      const body = physical();
      for (const key of [t.keys.ops, t.keys.readonly, t.keys.partner]) {
        const res = await t.api('POST', '/rewards', { key, body });
        assert.equal(res.status, 403);
      }
      assert.equal(await getReward(t.db, body.id), undefined);
      const cup = await create(body);
      const patch = await t.api('PATCH', `/rewards/${cup.id}`, {
        key: t.keys.ops,
        body: { name: 'Stolen' },
      });
      assert.equal(patch.status, 403);
      const put = await t.api('PUT', `/inventory/${cup.id}`, {
        key: t.keys.ops,
        body: { onHand: 0 },
      });
      assert.equal(put.status, 403);
      const read = await t.api('GET', `/rewards/${cup.id}`, { key: t.keys.readonly });
      assert.equal(read.status, 200);
      assert.equal(read.body.name, 'Espresso cup');
      assert.equal(read.body.inventory.onHand, 10);
    });
  });

  describe('stock', () => {
    it('reserve, release, ship and return keep on hand and reserved exact, once per redemption', async () => {
      const { id: sku } = await create(physical());
      const stock = async () => {
        const row = (await getInventory(t.db, sku))!;
        return [row.on_hand, row.reserved, row.available];
      };
      const r = (n: number) => `${sku}-r${n}`;

      assert.deepEqual(await reserveStock(db, { redemptionId: r(1), sku, quantity: 3 }), {
        status: 'reserved',
        available: 7,
      });
      assert.deepEqual(await reserveStock(db, { redemptionId: r(1), sku, quantity: 3 }), {
        status: 'reserved',
        available: 7,
      });
      await rejectsWith(
        reserveStock(db, { redemptionId: r(1), sku, quantity: 4 }),
        409,
        'redemptionId',
      );
      assert.equal(
        (await reserveStock(db, { redemptionId: r(2), sku, quantity: 5 })).status,
        'reserved',
      );
      assert.deepEqual(await stock(), [10, 8, 2]);
      assert.deepEqual(await reserveStock(db, { redemptionId: r(3), sku, quantity: 3 }), {
        status: 'out_of_stock',
        available: 2,
      });
      assert.equal(await getReservation(t.db, r(3)), undefined, 'out of stock records nothing');

      assert.equal((await releaseStock(db, { redemptionId: r(2) }))?.status, 'released');
      assert.equal((await releaseStock(db, { redemptionId: r(2) }))?.status, 'released');
      assert.equal(await releaseStock(db, { redemptionId: r(3) }), null, 'nothing to release');
      assert.deepEqual(await stock(), [10, 3, 7]);
      await rejectsWith(
        reserveStock(db, { redemptionId: r(2), sku, quantity: 5 }),
        409,
        'redemptionId',
      );
      await rejectsWith(shipStock(db, { redemptionId: r(2) }), 409, 'redemptionId');

      assert.equal((await shipStock(db, { redemptionId: r(1) })).status, 'shipped');
      assert.equal((await shipStock(db, { redemptionId: r(1) })).status, 'shipped');
      assert.deepEqual(await stock(), [7, 0, 7]);
      await rejectsWith(releaseStock(db, { redemptionId: r(1) }), 409, 'redemptionId');
      assert.deepEqual(await reserveStock(db, { redemptionId: r(1), sku, quantity: 3 }), {
        status: 'reserved',
        available: 7,
      });
      assert.deepEqual(
        await stock(),
        [7, 0, 7],
        'a late repeat of the reservation changes nothing',
      );

      assert.equal((await returnStock(db, { redemptionId: r(1) })).status, 'returned');
      assert.equal((await returnStock(db, { redemptionId: r(1) })).status, 'returned');
      assert.deepEqual(await stock(), [10, 0, 10]);

      await rejectsWith(returnStock(db, { redemptionId: r(9) }), 404, 'redemptionId');
      await rejectsWith(
        reserveStock(db, { redemptionId: r(9), sku: `${sku}-x`, quantity: 1 }),
        404,
        'sku',
      );
      await rejectsWith(
        reserveStock(db, { redemptionId: r(9), sku, quantity: 0 }),
        422,
        'quantity',
      );
      const coupon = await create({ ...physical(), kind: 'coupon', inventory: undefined });
      await rejectsWith(
        reserveStock(db, { redemptionId: r(9), sku: coupon.id, quantity: 1 }),
        422,
        'sku',
      );
      assert.deepEqual(await stock(), [10, 0, 10]);

      const view = await t.api('GET', `/inventory/${sku}`, { key: t.keys.readonly });
      assert.equal(view.status, 200);
      assert.deepEqual([view.body.onHand, view.body.reserved, view.body.available], [10, 0, 10]);
    });

    it('the database refuses overselling whoever writes', async () => {
      const { id: sku } = await create(physical({ inventory: { onHand: 2 } }));
      await assert.rejects(
        t.db('inventory').where({ sku }).update({ reserved: 3 }),
        /inventory_reserved_check/,
      );
      await assert.rejects(
        t.db('inventory').where({ sku }).update({ on_hand: -1 }),
        /inventory_on_hand_check/,
      );
    });

    it('a reward created with less stock than its threshold asks for more at once', async () => {
      const { id: sku, inventory } = await create(
        physical({ inventory: { onHand: 1, threshold: 5 } }),
      );
      assert.equal(inventory.low, true);
      assert.ok(inventory.replenishmentRequestedAt);
      const requests = await eventsOf('inventory.replenishment_requested', sku);
      assert.deepEqual(
        requests.map((e) => e.payload),
        [{ sku, available: 1, threshold: 5 }],
      );
    });

    it('PUT /inventory corrects counts but never below what is reserved', async () => {
      const { id: sku } = await create(physical());
      await reserveStock(db, { redemptionId: `${sku}-r`, sku, quantity: 4 });
      const below = await t.api('PUT', `/inventory/${sku}`, { body: { onHand: 3 } });
      assert.equal(below.status, 422);
      assert.equal(below.body.errors[0].field, 'onHand');
      assert.equal((await getInventory(t.db, sku))!.on_hand, 10);
      for (const [body, field] of [
        [{}, '(body)'],
        [{ onHand: -1 }, 'onHand'],
        [{ threshold: 1.5 }, 'threshold'],
        [{ reserved: 0 }, 'reserved'],
      ] as const) {
        const bad = await t.api('PUT', `/inventory/${sku}`, { body });
        assert.equal(bad.status, 422, JSON.stringify(body));
        assert.equal(bad.body.errors[0].field, field);
      }
      const ok = await t.api('PUT', `/inventory/${sku}`, { body: { onHand: 4, threshold: 2 } });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.deepEqual(
        [ok.body.onHand, ok.body.reserved, ok.body.available, ok.body.low],
        [4, 4, 0, true],
      );
      assert.ok(
        ok.body.replenishmentRequestedAt,
        'a correction that leaves stock low requests more',
      );
      assert.equal((await eventsOf('inventory.replenishment_requested', sku)).length, 1);
      const low = await t.api('GET', '/inventory?low=true');
      assert.ok(low.body.inventory.some((i: { sku: string }) => i.sku === sku));
      const missing = await t.api('PUT', `/inventory/${uniqueId('nope')}`, { body: { onHand: 1 } });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.errors[0].field, 'sku');
    });

    it('50 concurrent reservations of 10 units: exactly 10 reserved, one replenishment request per low-stock episode', async () => {
      const { id: sku } = await create(physical({ inventory: { onHand: 10, threshold: 3 } }));
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          reserveStock(db, { redemptionId: `${sku}-a${i}`, sku, quantity: 1 }),
        ),
      );
      assert.equal(results.filter((r) => r.status === 'reserved').length, 10);
      assert.equal(results.filter((r) => r.status === 'out_of_stock').length, 40);
      let row = (await getInventory(t.db, sku))!;
      assert.deepEqual([row.on_hand, row.reserved, row.available], [10, 10, 0]);
      assert.equal((await t.db('stock_reservations').where({ sku })).length, 10);
      let requests = await eventsOf('inventory.replenishment_requested', sku);
      assert.equal(requests.length, 1);
      assert.deepEqual(requests[0]!.payload, { sku, available: 2, threshold: 3 });
      assert.equal(requests[0]!.member_id, null);
      assert.ok(row.replenishment_requested_at);

      // A delivery too small to reach the threshold keeps the episode open: no new request.
      const small = await t.api('POST', `/inventory/${sku}/replenishments`, {
        key: t.keys.ops,
        body: { quantity: 1, reference: 'po-small' },
      });
      assert.equal(small.status, 201, JSON.stringify(small.body));
      assert.ok(small.body.inventory.replenishmentRequestedAt);
      await releaseStock(db, {
        redemptionId: `${sku}-a${results.findIndex((r) => r.status === 'reserved')}`,
      });
      assert.equal((await eventsOf('inventory.replenishment_requested', sku)).length, 1);

      // Enough stock ends the episode; running low again starts the next one, once.
      const headers = { 'Idempotency-Key': uniqueId('delivery') };
      const delivery = { quantity: 20, reference: 'po-1' };
      const big = await t.api('POST', `/inventory/${sku}/replenishments`, {
        key: t.keys.ops,
        body: delivery,
        headers,
      });
      assert.equal(big.status, 201);
      assert.deepEqual(
        [
          big.body.inventory.onHand,
          big.body.inventory.available,
          big.body.inventory.replenishmentRequestedAt,
        ],
        [31, 22, null],
      );
      const replay = await t.api('POST', `/inventory/${sku}/replenishments`, {
        key: t.keys.ops,
        body: delivery,
        headers,
      });
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      const repeat = await t.api('POST', `/inventory/${sku}/replenishments`, {
        key: t.keys.ops,
        body: delivery,
      });
      assert.equal(repeat.status, 200);
      assert.equal(repeat.body.replenished, false);
      assert.equal(repeat.body.inventory.onHand, 31);
      const changed = await t.api('POST', `/inventory/${sku}/replenishments`, {
        key: t.keys.ops,
        body: { ...delivery, quantity: 5 },
      });
      assert.equal(changed.status, 409);
      assert.equal(changed.body.errors[0].field, 'reference');
      const replenished = await eventsOf('inventory.replenished', sku);
      assert.deepEqual(
        replenished.map((e) => [e.payload.reference, e.payload.quantity]),
        [
          ['po-small', 1],
          ['po-1', 20],
        ],
      );
      assert.match(String(replenished[1]!.payload.actor), /^ops:/);

      const second = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          reserveStock(db, { redemptionId: `${sku}-b${i}`, sku, quantity: 1 }),
        ),
      );
      assert.equal(second.filter((r) => r.status === 'reserved').length, 22);
      row = (await getInventory(t.db, sku))!;
      assert.deepEqual([row.on_hand, row.reserved, row.available], [31, 31, 0]);
      requests = await eventsOf('inventory.replenishment_requested', sku);
      assert.deepEqual(
        requests.map((e) => e.dedupe_key),
        [1, 2].map((n) => `inventory.replenishment_requested:${sku}:${n}`),
      );
    });

    it('concurrent reserve, release and ship never leave stock negative or inexact', async () => {
      const { id: sku } = await create(physical({ inventory: { onHand: 15, threshold: 5 } }));
      const ids = Array.from({ length: 30 }, (_, i) => `${sku}-m${i}`);
      await Promise.all(
        ids.map((redemptionId) => reserveStock(db, { redemptionId, sku, quantity: 1 })),
      );
      await Promise.all(
        ids.flatMap((redemptionId, i) => [
          (i % 2 ? shipStock : releaseStock)(db, { redemptionId }).catch(unlessUnknown),
          reserveStock(db, { redemptionId: `${redemptionId}-again`, sku, quantity: 1 }),
        ]),
      );
      const reservations = await t.db<ReservationRow>('stock_reservations').where({ sku });
      const sum = (status: string) =>
        reservations.filter((r) => r.status === status).reduce((n, r) => n + r.quantity, 0);
      const row = (await getInventory(t.db, sku))!;
      assert.equal(row.reserved, sum('reserved'));
      assert.equal(row.on_hand, 15 - sum('shipped'));
      assert.ok(row.available >= 0);
      assert.equal((await eventsOf('inventory.replenishment_requested', sku)).length, 1);
    });

    it('replenish refuses unknown SKUs and bad quantities', async () => {
      await rejectsWith(
        replenish(db, { sku: uniqueId('nope'), quantity: 1, reference: 'x', actor: 'test' }),
        404,
        'sku',
      );
      const { id: sku } = await create(physical());
      const bad = await t.api('POST', `/inventory/${sku}/replenishments`, {
        key: t.keys.ops,
        body: { quantity: 0 },
      });
      assert.equal(bad.status, 422);
      assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field).sort(), [
        'quantity',
        'reference',
      ]);
      assert.equal((await getInventory(t.db, sku))!.on_hand, 10);
    });
  });

  describe('coupons', () => {
    const couponReward = async () =>
      (await create({ ...physical(), kind: 'coupon', inventory: undefined })).id as string;

    it('imports codes from CSV: duplicates counted, bad lines reported by number', async () => {
      const id = await couponReward();
      const csv = [
        'code',
        'AAA-1',
        'AAA-2',
        '',
        'AAA-1',
        'bad code!',
        '"QUOTED-3"',
        'x,y',
        '"open',
      ].join('\r\n');
      const send = (rawBody: string, type = 'text/csv') =>
        t.api('POST', `/rewards/${id}/coupons`, { rawBody, headers: { 'content-type': type } });
      const res = await send(csv);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.imported, 3);
      assert.equal(res.body.duplicates, 1);
      assert.deepEqual(
        res.body.rejected.map((r: { line: number }) => r.line),
        [6, 8, 9],
      );
      assert.match(res.body.rejected[1].message, /one field/);

      const again = await send(csv);
      assert.deepEqual([again.body.imported, again.body.duplicates], [0, 4]);
      const json = await t.api('POST', `/rewards/${id}/coupons`, {
        body: { codes: ['AAA-2', 'NEW-4'] },
      });
      assert.deepEqual(json.body, { imported: 1, duplicates: 1, rejected: [] });
      assert.deepEqual(await couponStock(t.db, id), { total: 4, available: 4 });
      assert.deepEqual((await t.api('GET', `/rewards/${id}`)).body.coupons, {
        total: 4,
        available: 4,
        used: 0,
      });

      for (const [res, status, field] of [
        [await send('AAA-9\n'), 422, '(body)'],
        [await send(''), 422, '(body)'],
        [
          await t.api('POST', `/rewards/${id}/coupons`, { body: { codes: ['ok', 'not ok'] } }),
          422,
          'codes[1]',
        ],
        [await t.api('POST', `/rewards/${id}/coupons`, { body: { codes: [] } }), 422, 'codes'],
        [await send('{"codes":', 'application/json'), 400, '(body)'],
        [await send('code\nZZZ', 'text/plain'), 415, undefined],
        [
          await t.api('POST', `/rewards/${uniqueId('nope')}/coupons`, { body: { codes: ['Z'] } }),
          404,
          'rewardId',
        ],
      ] as const) {
        assert.equal(res.status, status, JSON.stringify(res.body));
        assert.equal(res.body.errors?.[0]?.field, field);
      }
      const cup = await create(physical());
      const onPhysical = await t.api('POST', `/rewards/${cup.id}/coupons`, {
        body: { codes: ['Z'] },
      });
      assert.equal(onPhysical.status, 422);
      assert.equal(onPhysical.body.errors[0].field, 'rewardId');
      const more = await send('code\nOPS-1');
      assert.equal(more.status, 200);
      const forbidden = await t.api('POST', `/rewards/${id}/coupons`, {
        key: t.keys.ops,
        body: { codes: ['OPS-2'] },
      });
      assert.equal(forbidden.status, 403);
      assert.deepEqual(await couponStock(t.db, id), { total: 5, available: 5 });
    });

    it('concurrent assigners never share a code; one code per redemption, released back to the pool', async () => {
      const id = await couponReward();
      const codes = Array.from({ length: 20 }, (_, i) => `C-${String(i).padStart(2, '0')}`);
      assert.deepEqual(await importCoupons(db, id, codes), { imported: 20, duplicates: 0 });

      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          assignCoupon(db, { redemptionId: `${id}-r${i}`, rewardId: id }),
        ),
      );
      const given = results.flatMap((r) => (r.status === 'assigned' ? [r.code] : []));
      assert.equal(given.length, 20);
      assert.equal(new Set(given).size, 20, 'no code given twice');
      assert.equal(results.filter((r) => r.status === 'out_of_stock').length, 10);
      assert.deepEqual(await couponStock(db, id), { total: 20, available: 0 });

      const holder = results.findIndex((r) => r.status === 'assigned');
      const first = results[holder]!;
      assert.deepEqual(
        await assignCoupon(db, { redemptionId: `${id}-r${holder}`, rewardId: id }),
        first,
      );
      const other = await couponReward();
      await rejectsWith(
        assignCoupon(db, { redemptionId: `${id}-r${holder}`, rewardId: other }),
        409,
        'redemptionId',
      );
      await rejectsWith(
        assignCoupon(db, { redemptionId: 'x', rewardId: uniqueId('nope') }),
        404,
        'rewardId',
      );

      await releaseCoupon(db, { redemptionId: `${id}-r${holder}` });
      await releaseCoupon(db, { redemptionId: `${id}-r${holder}` });
      assert.deepEqual(await couponStock(db, id), { total: 20, available: 1 });
      const late = await assignCoupon(db, { redemptionId: `${id}-late`, rewardId: id });
      assert.deepEqual(late, first, 'the released code is given out again');
    });

    it('concurrent repeats for one redemption get one code', async () => {
      const id = await couponReward();
      await importCoupons(db, id, ['P-1', 'P-2', 'P-3', 'P-4', 'P-5']);
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          assignCoupon(db, { redemptionId: `${id}-same`, rewardId: id }),
        ),
      );
      assert.equal(
        new Set(results.map((r) => (r.status === 'assigned' ? r.code : 'none'))).size,
        1,
      );
      assert.equal(results[0]!.status, 'assigned');
      assert.deepEqual(await couponStock(db, id), { total: 5, available: 4 });
    });
  });

  describe('substitutes', () => {
    it('are active physical rewards in stock, for the tier, in the band and category, closest first', async () => {
      // XTS is ISO 4217's code for testing: nothing else in the catalog shares the currency.
      const category = uniqueId('subs').replace(/-/g, '_');
      const reward = async (name: string, cashValue: number, extra: Record<string, unknown> = {}) =>
        (
          await create(
            physical({ id: `${category}-${name}`, category, currency: 'XTS', cashValue, ...extra }),
          )
        ).id as string;
      const original = await reward('original', 100, {
        substitution: { mode: 'auto', cashValueBand: 0.2 },
      });
      const above = await reward('above', 105);
      const below = await reward('below', 95);
      const edge = await reward('edge', 120);
      await reward('far', 120.01);
      const low = await reward('low', 100, { inventory: { onHand: 1 } });
      await reward('empty', 100, { inventory: { onHand: 0 } });
      await reward('inactive', 100, { active: false });
      const gold = await reward('gold', 101, { tiersAllowed: ['Gold'] });
      const otherCategory = (
        await create(
          physical({
            id: `${category}-other`,
            category: `${category}_x`,
            currency: 'XTS',
            cashValue: 100,
          }),
        )
      ).id;
      await reward('euro', 100, { currency: 'EUR' });
      await create({
        ...physical({ id: `${category}-coupon`, category, currency: 'XTS', cashValue: 100 }),
        kind: 'coupon',
        inventory: undefined,
      });

      const row = (await getReward(t.db, original))!;
      const ids = async (
        tier: string,
        quantity: number,
        policy: Partial<RewardRow['substitution']> = {},
      ) =>
        (
          await findSubstitutes(
            db,
            { ...row, substitution: { ...row.substitution, ...policy } },
            { tier, quantity },
          )
        ).map((r) => r.id);

      assert.deepEqual(await ids('Member', 1), [low, above, below, edge]);
      assert.deepEqual(await ids('Gold', 1), [low, gold, above, below, edge]);
      assert.deepEqual(await ids('Member', 2), [above, below, edge]);
      assert.deepEqual(await ids('Member', 1, { cashValueBand: 0 }), [low]);
      assert.deepEqual(await ids('Member', 1, { sameCategory: false }), [
        low,
        otherCategory,
        above,
        below,
        edge,
      ]);

      // Stock moves the answer: reserving the last unit of `low` takes it out.
      await reserveStock(db, { redemptionId: `${low}-r`, sku: low, quantity: 1 });
      assert.deepEqual(await ids('Member', 1), [above, below, edge]);
    });
  });
});
