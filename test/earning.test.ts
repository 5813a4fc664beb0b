/** The earning arithmetic, pure: shares add up, returns reverse exactly once in total. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  capPeriods,
  computeEarning,
  reversalFor,
  shareOut,
  type CapUsage,
} from '../domain/earning';
import { defaultProgram, programSchema, type ProgramInput } from '../domain/program';

describe('earning arithmetic', () => {
  it('shareOut splits a total into whole points that add up, each within one of its exact share', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.array(fc.double({ min: 0, max: 10_000, noNaN: true }), { minLength: 1, maxLength: 20 }),
        (total, weights) => {
          const shares = shareOut(total, weights);
          assert.equal(
            shares.reduce((a, b) => a + b, 0),
            total,
          );
          const sum = weights.reduce((a, b) => a + b, 0);
          shares.forEach((share, i) => {
            assert.ok(Number.isInteger(share) && share >= 0);
            const exact = sum > 0 ? (total * weights[i]!) / sum : total / weights.length;
            assert.ok(Math.abs(share - exact) < 1 + 1e-6, `${share} vs ${exact}`);
          });
        },
      ),
    );
  });

  it('returning a line in any number of parts reverses exactly its points, never more', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 10 }),
        (points, parts) => {
          const quantity = parts.reduce((a, b) => a + b, 0);
          let returnedQuantity = 0;
          let reversedPoints = 0;
          for (const part of parts) {
            const reversal = reversalFor(
              { quantity, points, returnedQuantity, reversedPoints },
              part,
            );
            assert.ok(reversal >= 0);
            returnedQuantity += part;
            reversedPoints += reversal;
            assert.ok(reversedPoints <= points);
          }
          assert.equal(reversedPoints, points);
        },
      ),
    );
  });

  it('caps count in UTC days and months', () => {
    assert.deepEqual(capPeriods(new Date('2026-11-30T23:59:59.999Z')), {
      day: 'D2026-11-30',
      month: 'M2026-11',
    });
    assert.deepEqual(capPeriods(new Date('2026-12-01T00:00:00Z')), {
      day: 'D2026-12-01',
      month: 'M2026-12',
    });
  });
  const program = (earning: Partial<ProgramInput['earning']>) =>
    programSchema.parse({
      ...defaultProgram,
      earning: { ...defaultProgram.earning, pendingPeriod: undefined, ...earning },
    });
  const none: CapUsage = { dayAll: 0, monthAll: 0, dayType: 0, monthType: 0 };
  const order = {
    type: 'purchase',
    currency: 'EUR',
    amount: 100,
    channel: 'web',
    country: 'DE',
    lines: [
      { sku: 'a', category: 'books', quantity: 1, amount: 60 },
      { sku: 'b', category: 'toys', quantity: 1, amount: 40 },
    ],
  };

  it('a tier multiplies base points (not bonuses), and the lines share what is earned', () => {
    const p = program({
      pointsPerUnit: { EUR: 1 },
      bonuses: [{ name: 'any', eventType: 'purchase', points: 10 }],
    });
    const gold = { ...p.tiers[0]!, benefits: { ...p.tiers[0]!.benefits, earningMultiplier: 1.5 } };
    const result = computeEarning(p, gold, order, none);
    assert.deepEqual([result.base, result.bonus, result.earned], [150, 10, 160]);
    assert.deepEqual(result.linePoints, [96, 64]);
    const review = computeEarning(p, gold, { type: 'review' }, none);
    assert.equal(review.base, Math.floor((p.earning.eventPoints.review ?? 0) * 1.5));
  });

  it('bonuses apply only when channel, country, category and amount all match', () => {
    const p = program({
      pointsPerUnit: { EUR: 1 },
      bonuses: [
        { name: 'app', eventType: 'purchase', channel: 'app', points: 1 },
        { name: 'de', eventType: 'purchase', country: 'DE', points: 2 },
        { name: 'toys', eventType: 'purchase', category: 'toys', points: 4 },
        { name: 'games', eventType: 'purchase', category: 'games', points: 8 },
        { name: 'big', eventType: 'purchase', minAmount: 100, points: 16 },
        { name: 'huge', eventType: 'purchase', minAmount: 101, points: 32 },
        { name: 'reviews', eventType: 'review', points: 64 },
      ],
    });
    const result = computeEarning(p, p.tiers[0]!, order, none);
    assert.deepEqual(result.bonuses, ['de', 'toys', 'big']);
    assert.equal(result.bonus, 22);
    const viaApp = computeEarning(
      p,
      p.tiers[0]!,
      { ...order, channel: 'app', country: 'FR' },
      none,
    );
    assert.deepEqual(viaApp.bonuses, ['app', 'toys', 'big']);
  });

  it('each of the four caps binds on its own, and never below zero', () => {
    const caps = {
      all: { perDay: 100, perMonth: 1000 },
      byEventType: { purchase: { perDay: 80, perMonth: 500 } },
    };
    const p = program({ pointsPerUnit: { EUR: 1 }, caps });
    const earned = (usage: Partial<CapUsage>) =>
      computeEarning(p, p.tiers[0]!, order, { ...none, ...usage }).earned;
    assert.equal(earned({}), 80, 'purchases per day');
    assert.equal(earned({ dayAll: 50 }), 50, 'all types per day');
    assert.equal(earned({ monthAll: 990 }), 10, 'all types per month');
    assert.equal(earned({ monthType: 480 }), 20, 'purchases per month');
    assert.equal(earned({ dayType: 80 }), 0);
    assert.equal(earned({ dayAll: 500 }), 0, 'over a cap already: nothing, not negative');
    const capped = computeEarning(p, p.tiers[0]!, order, { ...none, monthAll: 990 });
    assert.equal(capped.capped, 90);
    assert.deepEqual(capped.linePoints, [6, 4]);
  });
});
