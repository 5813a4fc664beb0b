/**
 * The independent reference model (test/model/), checked against the README's rules and the
 * calendar's edges: 29 February, month ends for monthly caps, the programme's time zone across
 * daylight-saving changes, a tier period ending on the instant an expiry falls. Pure: no stack.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateProgramme } from './model/generate';
import { MemberModel } from './model/member';
import { runProgramme } from './model/runner';
import { defaultPublished, modelProgram } from './model/program';
import { durationMs, MS, monthEnds, utcDay, zonedDay } from './model/time';
import type { ModelEvent, ModelProgram, ModelVersion, PurchaseLine } from './model/types';

const t = (iso: string): number => Date.parse(iso);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function program(change: Partial<ModelProgram> = {}): ModelProgram {
  return { ...modelProgram(defaultPublished), ...change };
}

function member(p: ModelProgram | ModelVersion[], enrolled = '2027-01-01T00:00:00Z'): MemberModel {
  const versions = Array.isArray(p) ? p : [{ version: 1, activeFrom: 0, program: p }];
  return new MemberModel(versions, t(enrolled));
}

let seq = 0;
function buy(
  at: string,
  lines: [string, string, number, number][] | number,
  channel = 'web',
): ModelEvent {
  seq += 1;
  const list: PurchaseLine[] =
    typeof lines === 'number'
      ? [{ sku: 'sku-1', category: 'shoes', quantity: 1, cents: Math.round(lines * 100) }]
      : lines.map(([sku, category, quantity, euros]) => ({
          sku,
          category,
          quantity,
          cents: Math.round(euros * 100),
        }));
  return {
    kind: 'purchase',
    at: t(at),
    eventId: `e${seq}`,
    orderId: `o${seq}`,
    currency: 'EUR',
    channel,
    country: 'DE',
    lines: list,
  };
}

const kinds = (
  m: MemberModel,
  kind: string,
): { at: string | null; points?: number; tier?: string }[] =>
  m.happenings
    .filter((h) => h.kind === kind)
    .map((h) => ({
      at: iso(h.at),
      ...(h.points === undefined ? {} : { points: h.points }),
      ...(h.tier ? { tier: h.tier } : {}),
    }));

const noPending = (change: Partial<ModelProgram> = {}): ModelProgram => {
  const p = program(change);
  delete p.pendingPeriod;
  return p;
};

describe('model: durations and calendars', () => {
  it('reads program durations as fixed milliseconds (a year is 365.25 days)', () => {
    assert.equal(durationMs('30 days'), 30 * MS.DAY);
    assert.equal(durationMs('10 seconds'), 10_000);
    assert.equal(durationMs('1.5h'), 90 * MS.MINUTE);
    assert.equal(durationMs('1 year'), 365.25 * MS.DAY);
    assert.throws(() => durationMs('soon'), /not a duration/);
    assert.throws(() => durationMs('3 fortnights'), /unknown duration unit/);
  });

  it('month ends: the first instant of each UTC month, across a leap February', () => {
    assert.deepEqual(monthEnds(t('2027-12-15T00:00:00Z'), t('2028-03-01T00:00:00Z')).map(iso), [
      '2028-01-01T00:00:00.000Z',
      '2028-02-01T00:00:00.000Z',
      '2028-03-01T00:00:00.000Z',
    ]);
  });

  it('a zone day differs from the UTC day around midnight, by one hour in winter and two in summer', () => {
    assert.equal(zonedDay(t('2027-01-15T23:30:00Z'), 'Europe/Berlin'), '2027-01-16');
    assert.equal(zonedDay(t('2027-07-15T22:30:00Z'), 'Europe/Berlin'), '2027-07-16');
    assert.equal(zonedDay(t('2027-07-15T21:30:00Z'), 'Europe/Berlin'), '2027-07-15');
    assert.equal(utcDay(t('2027-07-15T22:30:00Z')), '2027-07-15');
  });
});

describe('model: earning', () => {
  it('a purchase earns per line (amount x rate x multipliers), rounded down once', () => {
    const m = member(noPending());
    // 0.99 + 0.99 at 1 point per EUR: 1.98 -> 1 (floored per line it would be 0).
    assert.equal(
      m.apply(
        buy('2027-01-02T10:00:00Z', [
          ['a', 'shoes', 1, 0.99],
          ['b', 'shoes', 1, 0.99],
        ]),
      ).points,
      1,
    );
    // app x1.5, exact decimals: 19.99 x 1.5 = 29.985 and 10.01 x 1.5 = 15.015, together 45.
    assert.equal(
      m.apply(
        buy(
          '2027-01-02T11:00:00Z',
          [
            ['a', 'shoes', 1, 19.99],
            ['b', 'shoes', 1, 10.01],
          ],
          'app',
        ),
      ).points,
      45,
    );
    // giftcards earn x0; the other line x1.
    assert.equal(
      m.apply(
        buy('2027-01-02T12:00:00Z', [
          ['g', 'giftcards', 1, 50],
          ['b', 'shoes', 2, 20],
        ]),
      ).points,
      20,
    );
    assert.equal(m.ledger.balances().available, 66);
  });

  it('the tier multiplier applies to the event after the one that upgraded, and bonuses are added unmultiplied', () => {
    const bonuses = [{ name: 'shoes', eventType: 'purchase', category: 'shoes', points: 10 }];
    const m = member(noPending({ bonuses }));
    const first = m.apply(buy('2027-01-02T10:00:00Z', 2000));
    assert.equal(first.points, 2010);
    assert.equal(m.tier.name, 'Silver');
    assert.equal(m.apply(buy('2027-01-03T10:00:00Z', 100)).points, 135); // 100 x 1.25 + 10
  });

  it('caps cut per UTC day, not per Berlin day, and count what was earned', () => {
    const m = member(noPending({ caps: { all: { perDay: 1000 }, byEventType: {} } }));
    // 23:30Z on 15 Jan is already 16 Jan in Berlin; 00:30Z on 16 Jan is the next UTC day.
    assert.deepEqual(
      [m.apply(buy('2027-01-15T10:00:00Z', 800)), m.apply(buy('2027-01-15T23:30:00Z', 800))].map(
        (o) => [o.points, o.capped],
      ),
      [
        [800, 0],
        [200, 600],
      ],
    );
    const next = m.apply(buy('2027-01-16T00:30:00Z', 800));
    assert.deepEqual([next.points, next.capped], [800, 0]);
  });

  it('a monthly cap resets at the UTC month end, on 29 February of a leap year too', () => {
    const m = member(noPending());
    const review = (at: string, id: string): ModelEvent => ({
      kind: 'fixed',
      at: t(at),
      eventId: id,
      type: 'review',
    });
    const feb = [
      '2028-02-01T00:00:00Z',
      '2028-02-10T00:00:00Z',
      '2028-02-20T00:00:00Z',
      '2028-02-29T12:00:00Z',
      '2028-02-29T23:59:59.999Z',
    ];
    const earned = feb.map((at, i) => m.apply(review(at, `r${i}`)).points);
    assert.deepEqual(earned, [50, 50, 50, 50, 0]); // review perMonth 200
    assert.equal(m.apply(review('2028-03-01T00:00:00Z', 'r-march')).points, 50);
  });

  it('a return does not give cap room back', () => {
    const m = member(noPending({ caps: { all: { perDay: 100 }, byEventType: {} } }));
    const b = buy('2027-01-15T10:00:00Z', 100);
    m.apply(b);
    assert.equal(
      m.apply({
        kind: 'return',
        at: t('2027-01-15T11:00:00Z'),
        eventId: 'r1',
        orderId: (b as { orderId: string }).orderId,
        lines: [{ sku: 'sku-1', quantity: 1 }],
      }).points,
      -100,
    );
    assert.deepEqual([m.apply(buy('2027-01-15T12:00:00Z', 50)).points], [0]);
  });
});

describe('model: returns, pending points and debt', () => {
  it('each unit reverses its share rounded down, and the last unit exactly what is left', () => {
    const m = member(noPending());
    const b = buy('2027-01-02T10:00:00Z', [['a', 'shoes', 3, 100]]);
    const orderId = (b as { orderId: string }).orderId;
    assert.equal(m.apply(b).points, 100);
    const ret = (n: number, id: string): number =>
      m.apply({
        kind: 'return',
        at: t('2027-01-03T10:00:00Z'),
        eventId: id,
        orderId,
        lines: [{ sku: 'a', quantity: n }],
      }).points;
    assert.deepEqual([ret(1, 'r1'), ret(1, 'r2'), ret(1, 'r3')], [-33, -33, -34]);
    assert.equal(
      m.apply({
        kind: 'return',
        at: t('2027-01-03T11:00:00Z'),
        eventId: 'r4',
        orderId,
        lines: [{ sku: 'a', quantity: 1 }],
      }).refused,
      'ReturnExceedsPurchase',
    );
    assert.deepEqual(m.ledger.balances(), { available: 0, pending: 0, held: 0, debt: 0 });
  });

  it('an order is shared over its lines by their exact points (largest remainder); each line reverses its own share', () => {
    const m = member(noPending({ categoryMultipliers: { books: 0.5 } }));
    const b = buy('2027-01-02T10:00:00Z', [
      ['a', 'shoes', 3, 10],
      ['b', 'books', 2, 7.77],
      ['c', 'shoes', 1, 0.99],
    ]);
    // 10 + 3.885 + 0.99 = 14.875 -> 14, shared 9.41 / 3.66 / 0.93 -> 9, 4, 1.
    assert.equal(m.apply(b).points, 14);
    const orderId = (b as { orderId: string }).orderId;
    const steps: [string, number][] = [
      ['b', 1],
      ['a', 2],
      ['c', 1],
      ['b', 1],
      ['a', 1],
    ];
    const reversed = steps.map(
      ([sku, quantity], i) =>
        m.apply({
          kind: 'return',
          at: t('2027-01-03T10:00:00Z'),
          eventId: `r${i}`,
          orderId,
          lines: [{ sku, quantity }],
        }).points,
    );
    assert.deepEqual(reversed, [-2, -6, -1, -2, -3]);
  });

  it('fixed event points take the tier multiplier, rounded down', () => {
    const m = member(
      noPending({ caps: { all: {}, byEventType: {} }, eventPoints: { referral: 501 } }),
    );
    m.apply(buy('2027-01-02T10:00:00Z', 2000));
    assert.equal(m.tier.name, 'Silver');
    assert.equal(
      m.apply({ kind: 'fixed', at: t('2027-01-03T10:00:00Z'), eventId: 'ref', type: 'referral' })
        .points,
      626,
    ); // 626.25
  });

  it('a return inside the pending period takes pending points; activation after 30 days makes the rest a lot', () => {
    const m = member(program());
    const b = buy('2027-01-02T10:00:00Z', [['a', 'shoes', 2, 100]]);
    m.apply(b);
    m.apply({
      kind: 'return',
      at: t('2027-01-10T10:00:00Z'),
      eventId: 'r1',
      orderId: (b as { orderId: string }).orderId,
      lines: [{ sku: 'a', quantity: 1 }],
    });
    assert.deepEqual(m.ledger.balances(), { available: 0, pending: 50, held: 0, debt: 0 });
    const s = m.snapshot(t('2027-02-01T10:00:00Z'));
    assert.deepEqual(s.balances, { available: 50, pending: 0, held: 0, debt: 0 });
    // The lot's life starts at activation (see QUESTIONS.md): 730 days after 1 February.
    assert.equal(iso(s.nextExpiry), iso(t('2027-02-01T10:00:00Z') + 730 * MS.DAY));
  });

  it('a return of spent points takes its own lot, then others soonest-expiring first, then debt; credits repay debt first', () => {
    const m = member(noPending());
    m.apply(buy('2027-01-02T10:00:00Z', 40));
    const b = buy('2027-01-03T10:00:00Z', 100);
    m.apply(b);
    m.apply({ kind: 'hold', at: t('2027-01-04T10:00:00Z'), id: 'h1', points: 120 });
    m.apply({ kind: 'redeem', at: t('2027-01-05T10:00:00Z'), id: 'h1' });
    assert.deepEqual(m.ledger.balances(), { available: 20, pending: 0, held: 0, debt: 0 });
    m.apply({
      kind: 'return',
      at: t('2027-01-06T10:00:00Z'),
      eventId: 'r1',
      orderId: (b as { orderId: string }).orderId,
      lines: [{ sku: 'sku-1', quantity: 1 }],
    });
    assert.deepEqual(m.ledger.balances(), { available: 0, pending: 0, held: 0, debt: 80 });
    m.apply({ kind: 'adjustment', at: t('2027-01-07T10:00:00Z'), id: 'a1', points: 50 });
    assert.deepEqual(m.ledger.balances(), { available: 0, pending: 0, held: 0, debt: 30 });
    m.apply(buy('2027-01-08T10:00:00Z', 100));
    assert.deepEqual(m.ledger.balances(), { available: 70, pending: 0, held: 0, debt: 0 });
  });

  it('pending points are not taken for debt until they activate, then repay it', () => {
    const m = member(program());
    const b = buy('2027-01-02T10:00:00Z', 100); // activates 1 February 10:00
    m.apply(b);
    m.apply(buy('2027-01-03T10:00:00Z', 60)); // activates 2 February 10:00
    m.advanceTo(t('2027-02-01T12:00:00Z'));
    assert.deepEqual(m.ledger.balances(), { available: 100, pending: 60, held: 0, debt: 0 });
    m.apply({ kind: 'adjustment', at: t('2027-02-01T13:00:00Z'), id: 'a1', points: -100 });
    const orderId = (b as { orderId: string }).orderId;
    m.apply({
      kind: 'return',
      at: t('2027-02-01T14:00:00Z'),
      eventId: 'r1',
      orderId,
      lines: [{ sku: 'sku-1', quantity: 1 }],
    });
    assert.deepEqual(m.ledger.balances(), { available: 0, pending: 60, held: 0, debt: 100 });
    m.advanceTo(t('2027-02-02T10:00:00Z'));
    assert.deepEqual(m.ledger.balances(), { available: 0, pending: 0, held: 0, debt: 40 });
  });
});

describe('model: expiry and reminders', () => {
  it('fixed: a lot expires its lifetime after it was earned, reminded reminderBefore ahead, with the amount', () => {
    const m = member(noPending({ lotLifetime: '60 days', reminderBefore: '10 days' }));
    m.apply(buy('2027-01-01T12:00:00Z', 100));
    m.apply(buy('2027-01-11T12:00:00Z', 30));
    m.apply({ kind: 'hold', at: t('2027-01-12T00:00:00Z'), id: 'h1', points: 40 });
    m.apply({ kind: 'redeem', at: t('2027-01-12T01:00:00Z'), id: 'h1' });
    m.snapshot(t('2027-04-01T00:00:00Z'));
    assert.deepEqual(kinds(m, 'reminder'), [
      { at: '2027-02-20T12:00:00.000Z', points: 60 },
      { at: '2027-03-02T12:00:00.000Z', points: 30 },
    ]);
    assert.deepEqual(kinds(m, 'expiry'), [
      { at: '2027-03-02T12:00:00.000Z', points: 60 },
      { at: '2027-03-12T12:00:00.000Z', points: 30 },
    ]);
  });

  it('activity: qualifying activity extends every lot to a lifetime after it; a return does not', () => {
    const m = member(
      noPending({ expiryPolicy: 'activity', lotLifetime: '60 days', reminderBefore: '10 days' }),
    );
    const b = buy('2027-01-01T00:00:00Z', [['a', 'shoes', 2, 100]]);
    m.apply(b);
    m.apply({ kind: 'fixed', at: t('2027-02-01T00:00:00Z'), eventId: 'ref', type: 'referral' });
    m.apply({
      kind: 'return',
      at: t('2027-03-01T00:00:00Z'),
      eventId: 'r',
      orderId: (b as { orderId: string }).orderId,
      lines: [{ sku: 'a', quantity: 1 }],
    });
    const s = m.snapshot(t('2027-03-02T00:00:00Z'));
    assert.deepEqual(
      s.lots.map((l) => [l.remaining, iso(l.expiresAt)]),
      [
        [50, '2027-04-02T00:00:00.000Z'],
        [500, '2027-04-02T00:00:00.000Z'],
      ],
    );
    m.snapshot(t('2027-05-01T00:00:00Z'));
    assert.deepEqual(kinds(m, 'reminder'), [{ at: '2027-03-23T00:00:00.000Z', points: 550 }]);
    assert.deepEqual(kinds(m, 'expiry'), [{ at: '2027-04-02T00:00:00.000Z', points: 550 }]);
  });

  it('switching to activity (Q30): lots move at once to the last activity + lifetime, never before their own date; back to fixed, their own date', () => {
    const fixed = noPending({ lotLifetime: '60 days', reminderBefore: '10 days' });
    const activity = { ...fixed, expiryPolicy: 'activity' as const, lotLifetime: '30 days' };
    const m = member([
      { version: 1, activeFrom: 0, program: fixed },
      { version: 2, activeFrom: t('2027-02-02T09:00:00Z'), program: activity },
      { version: 3, activeFrom: t('2027-03-02T09:00:00Z'), program: fixed },
    ]);
    m.apply(buy('2027-01-01T00:00:00Z', 10)); // own date 2 March
    m.apply({ kind: 'fixed', at: t('2027-01-20T00:00:00Z'), eventId: 'rv', type: 'review' }); // 21 March
    m.apply({ kind: 'adjustment', at: t('2027-01-25T00:00:00Z'), id: 'adj', points: 7 }); // 26 March
    const dates = (at: string) => m.snapshot(t(at)).lots.map((l) => iso(l.expiresAt));
    assert.deepEqual(dates('2027-02-01T00:00:00Z'), [
      '2027-03-02T00:00:00.000Z',
      '2027-03-21T00:00:00.000Z',
      '2027-03-26T00:00:00.000Z',
    ]);
    // Under activity: the review of 20 January + 30 days (19 February) would be earlier than every
    // lot's own date, so each keeps its own.
    assert.deepEqual(dates('2027-02-03T00:00:00Z'), [
      '2027-03-02T00:00:00.000Z',
      '2027-03-21T00:00:00.000Z',
      '2027-03-26T00:00:00.000Z',
    ]);
    // Activity on 15 February: every lot to 17 March at least (the adjustment keeps 26 March);
    // the review's own lot (second in spending order) has 17 March as its own date.
    m.apply({ kind: 'fixed', at: t('2027-02-15T00:00:00Z'), eventId: 'rv2', type: 'review' });
    assert.deepEqual(dates('2027-02-16T00:00:00Z'), [
      '2027-03-17T00:00:00.000Z',
      '2027-03-17T00:00:00.000Z',
      '2027-03-21T00:00:00.000Z',
      '2027-03-26T00:00:00.000Z',
    ]);
    // Back to fixed on 2 March 09:00: the first lot's own date (2 March 00:00) is past, so it
    // expires at the switch.
    m.snapshot(t('2027-03-03T00:00:00Z'));
    assert.deepEqual(kinds(m, 'expiry'), [{ at: '2027-03-02T09:00:00.000Z', points: 10 }]);
  });

  it("a pending lot's life (Q15) is its earning version's lifetime from its activation", () => {
    const v1 = program({ lotLifetime: '100 days' });
    const m = member([
      { version: 1, activeFrom: 0, program: v1 },
      {
        version: 2,
        activeFrom: t('2027-01-10T09:00:00Z'),
        program: { ...v1, lotLifetime: '10 days' },
      },
    ]);
    m.apply(buy('2027-01-02T10:00:00Z', 100)); // pending 30 days, under v1
    const s = m.snapshot(t('2027-02-02T00:00:00Z'));
    assert.deepEqual(s.balances, { available: 100, pending: 0, held: 0, debt: 0 });
    assert.equal(iso(s.nextExpiry), iso(t('2027-02-01T10:00:00Z') + 100 * MS.DAY));
  });

  it('29 February: "365 days" lands on 28 February, "1 year" six hours into it', () => {
    const days = member(noPending({ lotLifetime: '365 days' }));
    days.apply(buy('2028-02-29T00:00:00Z', 10));
    assert.equal(
      iso(days.snapshot(t('2028-03-01T00:00:00Z')).nextExpiry),
      '2029-02-28T00:00:00.000Z',
    );
    const year = member(noPending({ lotLifetime: '1 year' }));
    year.apply(buy('2028-02-29T00:00:00Z', 10));
    assert.equal(
      iso(year.snapshot(t('2028-03-01T00:00:00Z')).nextExpiry),
      '2029-02-28T06:00:00.000Z',
    );
  });

  it('across a DST change a day is 24 hours: the expiry moves an hour on the Berlin clock', () => {
    const m = member(noPending({ lotLifetime: '1 day', reminderBefore: '1 hour' }));
    m.apply(buy('2027-03-27T12:00:00Z', 10)); // 13:00 CET on Saturday
    m.snapshot(t('2027-03-29T00:00:00Z'));
    const [expiry] = m.happenings.filter((h) => h.kind === 'expiry');
    assert.equal(iso(expiry?.at ?? null), '2027-03-28T12:00:00.000Z'); // 14:00 CEST on Sunday
    assert.equal(zonedDay(expiry?.at ?? 0, 'Europe/Berlin'), '2027-03-28');
  });

  it('a hold never takes an expired lot; a released hold gives back and what is past its date expires at once', () => {
    const m = member(noPending({ lotLifetime: '10 days', reminderBefore: '1 day' }));
    m.apply(buy('2027-01-01T00:00:00Z', 100));
    m.apply(buy('2027-01-05T00:00:00Z', 50));
    assert.equal(
      m.apply({ kind: 'hold', at: t('2027-01-11T00:00:00Z'), id: 'late', points: 60 }).refused,
      'InsufficientPoints',
    );
    m.apply({ kind: 'hold', at: t('2027-01-12T00:00:00Z'), id: 'h', points: 50 });
    m.apply({ kind: 'release', at: t('2027-01-20T00:00:00Z'), id: 'h' });
    assert.deepEqual(kinds(m, 'expiry'), [
      { at: '2027-01-11T00:00:00.000Z', points: 100 },
      { at: '2027-01-20T00:00:00.000Z', points: 50 },
    ]);
    assert.deepEqual(m.ledger.balances(), { available: 0, pending: 0, held: 0, debt: 0 });
  });
});

describe('model: tiers and dormancy', () => {
  const noCaps = { all: {}, byEventType: {} };
  const tiers = noPending({
    caps: noCaps,
    tierPeriod: '90 days',
    gracePeriod: '10 days',
    qualificationWindow: '90 days',
  });

  it('upgrade at once, renew while qualified, grace when short, then one tier down at a time', () => {
    const m = member(tiers);
    m.apply(buy('2027-01-01T00:00:00Z', 15_000)); // Platinum at once (jumps two tiers)
    assert.equal(m.tier.name, 'Platinum');
    m.apply(buy('2027-03-01T00:00:00Z', 8000)); // x2: 16,000 in the window at the period end
    m.snapshot(t('2028-01-01T00:00:00Z'));
    assert.deepEqual(
      m.happenings.filter((h) => h.tier).map((h) => [h.kind, iso(h.at), h.tier]),
      [
        ['tier_up', '2027-01-01T00:00:00.000Z', 'Platinum'],
        ['renewal', '2027-04-01T00:00:00.000Z', 'Platinum'],
        ['grace', '2027-06-30T00:00:00.000Z', 'Platinum'],
        ['tier_down', '2027-07-10T00:00:00.000Z', 'Gold'],
        ['grace', '2027-10-08T00:00:00.000Z', 'Gold'],
        ['tier_down', '2027-10-18T00:00:00.000Z', 'Silver'],
      ],
    );
  });

  it('a tier period ending on the instant a lot expires: both happen, and the window excludes its opening instant', () => {
    const p = noPending({
      tierPeriod: '90 days',
      gracePeriod: '10 days',
      qualificationWindow: '90 days',
      lotLifetime: '90 days',
    });
    const m = member(p);
    m.apply(buy('2027-01-01T00:00:00Z', 2000)); // Silver; the period and the lot both end on 1 April 00:00
    m.snapshot(t('2027-04-01T00:00:00Z'));
    assert.deepEqual(
      m.happenings
        .filter((h) => h.at === t('2027-04-01T00:00:00Z'))
        .map((h) => [h.kind, h.points ?? h.tier]),
      [
        ['expiry', 2000],
        ['grace', 'Silver'], // the accrual of 1 January is 90 days old: outside (T - window, T]
      ],
    );
  });

  it('dormant after the policy duration without qualifying activity; a return does not count; the next activity reactivates', () => {
    const m = member(noPending({ dormancyAfter: '30 days' }));
    const b = buy('2027-01-01T00:00:00Z', 10);
    m.apply(b);
    m.apply({
      kind: 'return',
      at: t('2027-01-20T00:00:00Z'),
      eventId: 'r',
      orderId: (b as { orderId: string }).orderId,
      lines: [{ sku: 'sku-1', quantity: 1 }],
    });
    assert.equal(m.snapshot(t('2027-01-31T00:00:00Z')).status, 'dormant');
    m.apply({ kind: 'fixed', at: t('2027-02-10T00:00:00Z'), eventId: 'rv', type: 'review' });
    assert.deepEqual(kinds(m, 'dormant').concat(kinds(m, 'reactivated')), [
      { at: '2027-01-31T00:00:00.000Z' },
      { at: '2027-02-10T00:00:00.000Z' },
    ]);
  });
});

describe('model: rule versions and closing', () => {
  it('an event earns under the version in force at its instant; a new rate rewrites nothing earned before', () => {
    const v1 = noPending();
    const v2 = noPending({ pointsPerUnit: { EUR: 2 } });
    const m = member([
      { version: 1, activeFrom: 0, program: v1 },
      { version: 2, activeFrom: t('2027-06-01T09:00:00Z'), program: v2 },
    ]);
    const before = m.apply(buy('2027-06-01T08:59:59.999Z', 100));
    const after = m.apply(buy('2027-06-01T09:00:00Z', 100));
    assert.deepEqual(
      [before.version, before.points, after.version, after.points],
      [1, 100, 2, 200],
    );
    assert.equal(m.ledger.balances().available, 300);
  });

  it('closing forfeits what is left, writes debt off, and refuses what comes after', () => {
    const m = member(program());
    m.apply({ kind: 'adjustment', at: t('2027-01-02T00:00:00Z'), id: 'a', points: 70 });
    m.apply(buy('2027-01-03T00:00:00Z', 30));
    const close = m.apply({ kind: 'close', at: t('2027-01-04T00:00:00Z') });
    assert.equal(close.points, -100);
    assert.equal(m.apply(buy('2027-01-05T00:00:00Z', 30)).refused, 'MemberClosed');
    assert.deepEqual(m.snapshot(t('2027-03-01T00:00:00Z')).balances, {
      available: 0,
      pending: 0,
      held: 0,
      debt: 0,
    });
    assert.deepEqual(kinds(m, 'activation'), []);
  });
});

describe('model: a generated programme', () => {
  const seed = Number(process.env.MODEL_SEED ?? 20271);

  it(`is the same for the same seed (seed ${seed})`, () => {
    const a = generateProgramme({ seed, members: 20, years: 1 });
    const b = generateProgramme({ seed, members: 20, years: 1 });
    assert.deepEqual(a.members, b.members);
    assert.notDeepEqual(
      generateProgramme({ seed: seed + 1, members: 20, years: 1 }).members,
      a.members,
    );
  });

  it(`keeps every point accounted for at every month end (100 members x 2 years, seed ${seed})`, () => {
    const programme = generateProgramme({ seed, members: 100, years: 2 });
    const checkpoints = monthEnds(programme.start, programme.end);
    assert.equal(checkpoints.length, 24);
    const results = runProgramme(programme.versions, programme.members, checkpoints);
    let expired = 0;
    for (const r of results) {
      for (const [i, snap] of r.checkpoints.entries()) {
        const upTo = (x: { at: number }): boolean => x.at < snap.at;
        const done = r.outcomes.filter((o) => upTo(o) && !o.refused);
        const happened = r.happenings.filter((h) => h.at <= snap.at);
        const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
        const redeemed = done
          .filter((o) => o.kind === 'redeem')
          .map((o) => -(done.find((h) => h.kind === 'hold' && h.ref === o.ref)?.points ?? 0));
        const credited = sum(
          done.filter((o) => o.kind !== 'redeem' && o.kind !== 'close').map((o) => o.points),
        );
        const held = sum(done.filter((o) => o.kind === 'hold').map((o) => -o.points));
        const released = sum(done.filter((o) => o.kind === 'release').map((o) => o.points));
        const gone = sum(
          happened
            .filter((h) => h.kind === 'expiry' || h.kind === 'closed')
            .map((h) => h.points ?? 0),
        );
        const writtenOff = sum(happened.map((h) => h.debt ?? 0));
        const b = snap.balances;
        const where = `${r.memberId} at checkpoint ${i} (${iso(snap.at)})`;
        // Holds and releases moved points between available and held; redemptions took them out.
        assert.equal(
          b.available + b.pending + b.held - b.debt,
          credited + held - released - sum(redeemed) - gone + writtenOff,
          where,
        );
        assert.equal(sum(snap.lots.map((l) => l.remaining)), b.available, where);
        assert.ok(
          snap.lots.every((l) => l.remaining > 0 && l.expiresAt > snap.at),
          where,
        );
        assert.ok(b.debt >= 0 && b.pending >= 0 && b.held >= 0, where);
      }
      expired += r.happenings.filter((h) => h.kind === 'expiry').length;
    }
    assert.ok(expired > 0, 'two years of the programme expire some points');
  });
});
