/**
 * Property tests of the ledger on the real Postgres: random sequences of accruals, returns (and
 * replays of them), holds, releases, redemptions, spending and expiry over a simulated clock.
 * After every step the invariants must hold: balances equal the sum of the entries (and every
 * projection agrees), no lot is negative, debits take soonest-expiring lots first, returns reverse
 * exactly their pro-rata share once, and nothing expires before its date.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { defaultProgram, programSchema } from '../domain/program';
import { loadConfig } from '../config';
import { createDb, type Db } from '../infra/db';
import { recordEvent } from '../ledger/accrual';
import { adjustPoints } from '../ledger/adjustments';
import { placeHold, redeemHold, releaseHold } from '../ledger/holds';
import { reviewMember } from '../ledger/lifecycle';
import { publishRuleSet } from '../ledger/programs';
import { auditMember } from '../ledger/queries';
import { Refusal, RefusalKind } from '../domain/refusal';

const day = 24 * 3600 * 1000;

type Step =
  | { kind: 'accrue'; lines: { quantity: number; amount: number }[] }
  | { kind: 'return'; pick: number; line: number; quantity: number }
  | { kind: 'replayReturn'; pick: number }
  | { kind: 'hold'; amount: number }
  | { kind: 'release'; pick: number }
  | { kind: 'redeem'; pick: number }
  | { kind: 'spend'; amount: number }
  | { kind: 'advance'; days: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('accrue' as const),
      lines: fc.array(
        fc.record({
          quantity: fc.integer({ min: 1, max: 5 }),
          amount: fc.integer({ min: 0, max: 300 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('return' as const),
      pick: fc.nat(),
      line: fc.nat(),
      quantity: fc.integer({ min: 1, max: 5 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('replayReturn' as const), pick: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('hold' as const),
      amount: fc.integer({ min: 1, max: 400 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('redeem' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('spend' as const),
      amount: fc.integer({ min: 1, max: 300 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      days: fc.integer({ min: 0, max: 6 }),
    }),
  },
);

interface Purchase {
  orderId: string;
  lines: { sku: string; quantity: number; returned: number }[];
}

interface OpenLot {
  id: number;
  remaining: number;
  expires_at: Date;
}

describe('ledger properties (fast-check, real Postgres)', () => {
  let db: Db;
  before(async () => {
    db = createDb({ url: loadConfig().DATABASE_URL, poolMax: 4 });
    await publishRuleSet(
      db,
      programSchema.parse({
        ...defaultProgram,
        earning: {
          ...defaultProgram.earning,
          pointsPerUnit: { EUR: 1 },
          pendingPeriod: undefined,
          caps: { all: {}, byEventType: {} },
        },
        expiry: { policy: 'fixed', lotLifetime: '10 days', reminderBefore: '2 days' },
        dormancy: { after: '1000 days' },
      }),
      { createdBy: 'ledger-properties' },
    );
  });
  after(async () => {
    await db.destroy();
  });

  async function openLots(memberId: string): Promise<OpenLot[]> {
    return db('lots')
      .where({ member_id: memberId })
      .where('remaining', '>', 0)
      .select('id', 'remaining', 'expires_at');
  }

  /** The lots an entry debited must be a prefix of the open lots in (expiry, id) order. */
  async function assertFifo(
    memberId: string,
    before: OpenLot[],
    entryKey: string,
    except?: number,
    mayBeMissing = false,
  ): Promise<void> {
    const entry = await db('ledger_entries').where({ dedupe_key: entryKey }).first('id');
    if (!entry && mayBeMissing) return; // a return of lines that earned nothing writes no entry
    assert.ok(entry, `no entry ${entryKey}`);
    const moves: { lot_id: number; delta: number }[] = await db('lot_movements').where({
      entry_id: entry.id,
    });
    const taken = new Map(moves.map((m) => [Number(m.lot_id), -Number(m.delta)]));
    const order = before
      .filter((l) => l.id !== except)
      .sort((a, b) => a.expires_at.getTime() - b.expires_at.getTime() || a.id - b.id);
    let sawPartial = false;
    for (const lot of order) {
      const amount = taken.get(lot.id) ?? 0;
      if (sawPartial)
        assert.equal(
          amount,
          0,
          `lot ${lot.id} debited after a lot that was not drained (${memberId})`,
        );
      if (amount < lot.remaining) sawPartial = true;
    }
  }

  async function assertInvariants(memberId: string): Promise<void> {
    const audit = await auditMember(db, memberId);
    assert.deepEqual(audit.problems, []);
    const negative = await db('lots')
      .where({ member_id: memberId })
      .where('remaining', '<', 0)
      .count<{ count: string }[]>();
    assert.equal(Number(negative[0]!.count), 0);
    // Each purchase line reversed exactly its pro-rata share, and the entries say the same.
    const lines: {
      event_id: string;
      order_id: string;
      quantity: number;
      points: number;
      returned_quantity: number;
      reversed_points: number;
    }[] = await db('purchase_lines as p')
      .join('ledger_events as e', 'e.id', 'p.event_id')
      .where('e.member_id', memberId)
      .select('p.*', 'e.order_id');
    for (const l of lines)
      assert.equal(l.reversed_points, Math.floor((l.points * l.returned_quantity) / l.quantity));
    const reversed = lines.reduce((sum, l) => sum + l.reversed_points, 0);
    const entries = await db('ledger_entries')
      .where({ member_id: memberId, kind: 'reversal' })
      .sum<{ sum: number | null }[]>('amount');
    assert.equal(reversed + (entries[0]!.sum ?? 0), 0, 'reversal entries match the lines');
    // Nothing expired before its date.
    const early = await db('ledger_entries as e')
      .join('lot_movements as m', 'm.entry_id', 'e.id')
      .join('lots as l', 'l.id', 'm.lot_id')
      .where({ 'e.member_id': memberId, 'e.kind': 'expiry' })
      .whereRaw('l.expires_at > e.created_at')
      .count<{ count: string }[]>();
    assert.equal(Number(early[0]!.count), 0);
  }

  it('keeps every invariant over random sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const memberId = randomUUID();
        await db('members').insert({ id: memberId, external_id: `prop-${memberId}` });
        let now = Date.now();
        const purchases: Purchase[] = [];
        const returns: unknown[] = [];
        const holds: string[] = [];
        let earnedTotal = 0;
        const at = () => new Date(now);
        for (const s of steps) {
          now += 1000;
          const before = await openLots(memberId);
          switch (s.kind) {
            case 'accrue': {
              const orderId = `o-${randomUUID()}`;
              const lines = s.lines.map((l, i) => ({
                sku: `s${i}`,
                category: 'general',
                quantity: l.quantity,
                amount: l.amount,
              }));
              const result = await recordEvent(
                db,
                {
                  type: 'purchase',
                  eventId: `e-${orderId}`,
                  memberId,
                  orderId,
                  currency: 'EUR',
                  channel: 'web',
                  country: 'DE',
                  amount: lines.reduce((sum, l) => sum + l.amount, 0),
                  lines,
                },
                'prop',
                at(),
              );
              earnedTotal += Number((result.body.points as { earned: number }).earned);
              purchases.push({
                orderId,
                lines: lines.map((l) => ({ sku: l.sku, quantity: l.quantity, returned: 0 })),
              });
              break;
            }
            case 'return': {
              const p = purchases[s.pick % Math.max(1, purchases.length)];
              if (!p) break;
              const line = p.lines[s.line % p.lines.length]!;
              const quantity = Math.min(s.quantity, line.quantity - line.returned);
              if (quantity === 0) break;
              const event = {
                type: 'return' as const,
                eventId: `r-${randomUUID()}`,
                memberId,
                orderId: p.orderId,
                lines: [{ sku: line.sku, quantity }],
              };
              await recordEvent(db, event, 'prop', at());
              line.returned += quantity;
              returns.push(event);
              // A return takes from its purchase's own lot first, then from the others FIFO.
              const own = await db('lots as l')
                .join('ledger_entries as e', 'e.id', 'l.entry_id')
                .where('e.dedupe_key', `event:e-${p.orderId}`)
                .first('l.id');
              await assertFifo(
                memberId,
                before,
                `event:${event.eventId}`,
                own ? Number(own.id) : undefined,
                true,
              );
              break;
            }
            case 'replayReturn': {
              const event = returns[s.pick % Math.max(1, returns.length)];
              if (!event) break;
              const balance = await db('members')
                .where({ id: memberId })
                .first('available', 'pending', 'debt');
              const again = await recordEvent(
                db,
                event as Parameters<typeof recordEvent>[1],
                'prop',
                at(),
              );
              assert.equal(again.replayed, true);
              assert.deepEqual(
                await db('members').where({ id: memberId }).first('available', 'pending', 'debt'),
                balance,
              );
              break;
            }
            case 'hold': {
              const holdId = `h-${randomUUID()}`;
              const available = Number(
                (await db('members').where({ id: memberId }).first('available')).available,
              );
              try {
                await placeHold(
                  db,
                  { holdId, memberId, amount: s.amount, reason: 'prop', actor: 'prop' },
                  at(),
                );
                assert.ok(s.amount <= available, 'a hold beyond what is available was accepted');
                holds.push(holdId);
                await assertFifo(memberId, before, `hold:${holdId}`);
              } catch (err) {
                if (!(err instanceof Refusal && err.kind === RefusalKind.InsufficientPoints))
                  throw err;
                assert.ok(
                  s.amount > available,
                  `refused a hold of ${s.amount} with ${available} available`,
                );
              }
              break;
            }
            case 'release':
            case 'redeem': {
              const holdId = holds.splice(s.pick % Math.max(1, holds.length), 1)[0];
              if (!holdId) break;
              const settle = s.kind === 'release' ? releaseHold : redeemHold;
              await settle(db, { holdId, memberId, reason: 'prop', actor: 'prop' }, at());
              await settle(db, { holdId, memberId, reason: 'prop', actor: 'prop' }, at()); // repeat: no effect
              break;
            }
            case 'spend': {
              const key = randomUUID();
              const available = Number(
                (await db('members').where({ id: memberId }).first('available')).available,
              );
              try {
                await adjustPoints(
                  db,
                  { memberId, points: -s.amount, reason: 'spend', actor: 'prop', dedupeKey: key },
                  at(),
                );
                assert.ok(s.amount <= available, 'a spend beyond what is available was accepted');
                await assertFifo(memberId, before, `adjustment:${key}`);
              } catch (err) {
                if (!(err instanceof Refusal && err.kind === RefusalKind.InsufficientPoints))
                  throw err;
                assert.ok(
                  s.amount > available,
                  `refused a spend of ${s.amount} with ${available} available`,
                );
              }
              break;
            }
            case 'advance':
              now += s.days * day;
              await reviewMember(db, memberId, at());
              break;
          }
          await assertInvariants(memberId);
        }
        const accrued = await db('ledger_entries')
          .where({ member_id: memberId, kind: 'accrual' })
          .sum<{ sum: number | null }[]>('amount');
        assert.equal(accrued[0]!.sum ?? 0, earnedTotal);
      }),
      { numRuns: 100 },
    );
  });
});
