/** The earning arithmetic, pure: shares add up, returns reverse exactly once in total. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { capPeriods, reversalFor, shareOut } from '../domain/earning';

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
});
