/**
 * The difference between two program versions, field by field: what a reviewer reads before
 * approving, and what members are told (`program.rules_changing`). Lists of named things (tiers,
 * bonuses) are compared by name, so a reordered or inserted tier reads as such:
 * `tiers[Gold].benefits.earningMultiplier`, `earning.pointsPerUnit.EUR`. Pure.
 */
export interface DiffEntry {
  path: string;
  /** Absent on one side: `null` (added or removed). */
  before: unknown;
  after: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const named = (value: unknown): value is { name: string }[] =>
  Array.isArray(value) && value.every((v) => isObject(v) && typeof v.name === 'string');

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function walk(path: string, before: unknown, after: unknown, out: DiffEntry[]): void {
  if (same(before, after)) return;
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) walk(path ? `${path}.${key}` : key, before[key], after[key], out);
    return;
  }
  if (named(before) && named(after)) {
    const byName = (list: { name: string }[]) => new Map(list.map((item) => [item.name, item]));
    const was = byName(before);
    const now = byName(after);
    for (const name of new Set([...was.keys(), ...now.keys()])) {
      walk(`${path}[${name}]`, was.get(name), now.get(name), out);
    }
    const order = (list: { name: string }[]) => list.map((item) => item.name);
    const kept = order(before).filter((name) => now.has(name));
    const keptAfter = order(after).filter((name) => was.has(name));
    if (!same(kept, keptAfter)) out.push({ path: `${path}.order`, before: kept, after: keptAfter });
    return;
  }
  out.push({ path, before: before ?? null, after: after ?? null });
}

/** Every field that differs between `before` and `after` (both as published: defaults applied). */
export function diffPrograms(before: unknown, after: unknown): DiffEntry[] {
  const out: DiffEntry[] = [];
  walk('', before, after, out);
  return out;
}

const shown = (value: unknown): string =>
  value === null || value === undefined
    ? '(none)'
    : typeof value === 'string'
      ? value
      : JSON.stringify(value);

/** A short line for people: the first few changes, and how many more. */
export function diffSummary(diff: DiffEntry[], max = 5): string {
  if (diff.length === 0) return 'No change to the rules.';
  const lines = diff
    .slice(0, max)
    .map((d) => `${d.path}: ${shown(d.before)} → ${shown(d.after)}`)
    .join('; ');
  return diff.length > max ? `${lines}; and ${diff.length - max} more` : lines;
}
