/**
 * The what-if's figures: per-member parts merged into a page's part and the workflow's running
 * total (order does not matter: lists are sorted by a total order), then the `SimulationResult`
 * with the programme's size and the cost of a point. The replay itself is `simulation-replay.ts`.
 * Pure: the workflow imports it.
 */

/** A range of member ids, `[from, to)` (`to` null: to the end), read by pages of its own. */
export interface Shard {
  from: string;
  to: string | null;
}

/** `count` shards of about equal size (member ids are random UUIDs). */
export function shards(count: number): Shard[] {
  const bound = (i: number) =>
    `${Math.floor((i * 0x1_0000_0000) / count)
      .toString(16)
      .padStart(8, '0')}-0000-0000-0000-000000000000`;
  return Array.from({ length: count }, (_, i) => ({
    from: bound(i),
    to: i === count - 1 ? null : bound(i + 1),
  }));
}

export interface TierChange {
  memberId: string;
  from: string;
  to: string;
}

export interface Affected {
  memberId: string;
  actual: number;
  simulated: number;
  delta: number;
}

export interface SimulationPart {
  events: number;
  activeMembers: number;
  actual: { total: number; issued: number };
  simulated: { total: number; issued: number };
  rules: Record<string, { actual: number; simulated: number }>;
  caps: Record<string, { events: number; points: number }>;
  tiers: { up: number; down: number; changes: TierChange[] };
  mostAffected: Affected[];
}

export const TIER_CHANGES_LISTED = 50;
export const MOST_AFFECTED = 20;

export const emptyPart = (): SimulationPart => ({
  events: 0,
  activeMembers: 0,
  actual: { total: 0, issued: 0 },
  simulated: { total: 0, issued: 0 },
  rules: {},
  caps: {},
  tiers: { up: 0, down: 0, changes: [] },
  mostAffected: [],
});

const byImpact = (a: Affected, b: Affected): number =>
  Math.abs(b.delta) - Math.abs(a.delta) || (a.memberId < b.memberId ? -1 : 1);
const byMember = (a: TierChange, b: TierChange): number => (a.memberId < b.memberId ? -1 : 1);

/** `a` and `b` together (neither is changed). */
export function mergeParts(a: SimulationPart, b: SimulationPart): SimulationPart {
  const rules = { ...a.rules };
  for (const [rule, r] of Object.entries(b.rules)) {
    const was = rules[rule] ?? { actual: 0, simulated: 0 };
    rules[rule] = { actual: was.actual + r.actual, simulated: was.simulated + r.simulated };
  }
  const caps = { ...a.caps };
  for (const [cap, c] of Object.entries(b.caps)) {
    const was = caps[cap] ?? { events: 0, points: 0 };
    caps[cap] = { events: was.events + c.events, points: was.points + c.points };
  }
  return {
    events: a.events + b.events,
    activeMembers: a.activeMembers + b.activeMembers,
    actual: {
      total: a.actual.total + b.actual.total,
      issued: a.actual.issued + b.actual.issued,
    },
    simulated: {
      total: a.simulated.total + b.simulated.total,
      issued: a.simulated.issued + b.simulated.issued,
    },
    rules,
    caps,
    tiers: {
      up: a.tiers.up + b.tiers.up,
      down: a.tiers.down + b.tiers.down,
      changes: [...a.tiers.changes, ...b.tiers.changes]
        .sort(byMember)
        .slice(0, TIER_CHANGES_LISTED),
    },
    mostAffected: [...a.mostAffected, ...b.mostAffected].sort(byImpact).slice(0, MOST_AFFECTED),
  };
}

export interface SimulationResult {
  events: number;
  /** Members enrolled before the window's end, or active in it. */
  members: number;
  /** Members with at least one event in the window. */
  activeMembers: number;
  points: {
    actual: number;
    simulated: number;
    delta: number;
    byRule: { rule: string; actual: number; simulated: number; delta: number }[];
  };
  /** Change of the points outstanding (earned less reversed), and its value per currency. */
  liability: { points: number; money: Record<string, number> };
  tiers: { up: number; down: number; changes: TierChange[] };
  caps: { cap: string; events: number; points: number }[];
  mostAffected: Affected[];
  /** The change of the points issued (before returns), valued per currency (POINT_COST). */
  cost: Record<string, number>;
  perActiveMember: { actual: number; simulated: number };
}

const money = (points: number, pointCost: Record<string, number>): Record<string, number> =>
  Object.fromEntries(
    Object.entries(pointCost).map(([currency, cost]) => [
      currency,
      Math.round(points * cost * 100) / 100,
    ]),
  );

const perMember = (points: number, members: number): number =>
  members === 0 ? 0 : Math.round((points / members) * 100) / 100;

export function simulationResult(
  part: SimulationPart,
  context: { members: number; pointCost: Record<string, number> },
): SimulationResult {
  const delta = part.simulated.total - part.actual.total;
  return {
    events: part.events,
    members: context.members,
    activeMembers: part.activeMembers,
    points: {
      actual: part.actual.total,
      simulated: part.simulated.total,
      delta,
      byRule: Object.entries(part.rules)
        .map(([rule, r]) => ({ rule, ...r, delta: r.simulated - r.actual }))
        .sort((a, b) => (a.rule < b.rule ? -1 : 1)),
    },
    liability: { points: delta, money: money(delta, context.pointCost) },
    tiers: part.tiers,
    caps: Object.entries(part.caps)
      .map(([cap, c]) => ({ cap, ...c }))
      .sort((a, b) => b.points - a.points || (a.cap < b.cap ? -1 : 1)),
    mostAffected: part.mostAffected,
    cost: money(part.simulated.issued - part.actual.issued, context.pointCost),
    perActiveMember: {
      actual: perMember(part.actual.total, part.activeMembers),
      simulated: perMember(part.simulated.total, part.activeMembers),
    },
  };
}
