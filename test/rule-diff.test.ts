/** The rule diff on its own: field paths, named lists, and the summary members read. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultProgram, programSchema } from '../domain/program';
import { diffPrograms, diffSummary } from '../domain/rule-diff';

const parsed = (changes: object) => programSchema.parse({ ...defaultProgram, ...changes });

describe('rule diff', () => {
  it('names each changed field; tiers and bonuses by name', () => {
    const before = parsed({});
    const tiers = before.tiers.map((t) =>
      t.name === 'Gold' ? { ...t, benefits: { ...t.benefits, earningMultiplier: 3 } } : t,
    );
    const after = programSchema.parse({
      ...before,
      earning: {
        ...before.earning,
        pointsPerUnit: { ...before.earning.pointsPerUnit, EUR: 2 },
        bonuses: [{ name: 'welcome', eventType: 'purchase', points: 100 }],
      },
      tiers,
    });
    assert.deepEqual(diffPrograms(before, after), [
      {
        path: 'earning.bonuses[welcome]',
        before: null,
        after: { name: 'welcome', eventType: 'purchase', points: 100 },
      },
      { path: 'earning.pointsPerUnit.EUR', before: 1, after: 2 },
      {
        path: 'tiers[Gold].benefits.earningMultiplier',
        before: before.tiers.find((t) => t.name === 'Gold')!.benefits.earningMultiplier,
        after: 3,
      },
    ]);
    assert.deepEqual(diffPrograms(before, parsed({})), [], 'the same rules: no difference');
  });

  it('a tier added, removed or moved reads as such', () => {
    const before = parsed({});
    const [first, ...rest] = before.tiers;
    const after = { ...before, tiers: [first!, ...rest.slice(0, -1)] };
    const removed = before.tiers.at(-1)!;
    assert.deepEqual(diffPrograms(before, after), [
      { path: `tiers[${removed.name}]`, before: removed, after: null },
    ]);
    assert.deepEqual(diffPrograms(after, before), [
      { path: `tiers[${removed.name}]`, before: null, after: removed },
    ]);
  });

  it('the summary shows the first changes and counts the rest', () => {
    const diff = Array.from({ length: 7 }, (_, i) => ({ path: `p${i}`, before: i, after: i + 1 }));
    assert.equal(diffSummary(diff, 2), 'p0: 0 → 1; p1: 1 → 2; and 5 more');
    assert.equal(diffSummary([{ path: 'x', before: null, after: 'on' }]), 'x: (none) → on');
    assert.equal(diffSummary([]), 'No change to the rules.');
  });
});
