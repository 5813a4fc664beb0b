/**
 * The what-if, as pure arithmetic: one member's events of a window replayed under a program with
 * the live earning code (`computeEarning`, `capPeriods`, `reversalFor`, `tierFor`), and the
 * figures of a whole simulation merged from per-member parts. No I/O: the page activity feeds it
 * rows, the workflow carries its state (plain JSON) between pages.
 *
 * Semantics (README "What-if"): a member starts at the tier it had just before its first event of
 * the window was recorded, with the qualifying points of the program's qualification window before
 * then; cap usage counts from the window's own simulated events, by the UTC day and month the event
 * occurred in; tiers rise as simulated qualifying points cross thresholds (no downgrades inside the
 * window); a return reverses what its lines earned in the simulation when the purchase is in the
 * window, else what it really reversed; an event the program cannot earn for earns nothing.
 */
import {
  bindingCap,
  capPeriods,
  computeEarning,
  reversalFor,
  type CapUsage,
  type PurchaseLine,
} from './earning';
import { tierFor, tierIndex, type Program } from './program';

/** One stored event, as the simulation reads it. */
export interface SimEvent {
  id: string;
  /** purchase, return, referral, review, or the custom type's name. */
  type: string;
  /** Epoch ms of `occurred_at`. */
  at: number;
  orderId?: string | null | undefined;
  currency?: string | undefined;
  amount?: number | undefined;
  channel?: string | undefined;
  country?: string | undefined;
  lines?: PurchaseLine[] | { sku: string; quantity: number }[] | undefined;
  /** What the event really did to the member's total (its ledger entry; minus for a return). */
  actual: number;
  /** The real points per rule (from its stored answer); sums to `actual`. */
  actualRules: Record<string, number>;
  /** The member's tier in the stored answer (after the event). */
  tierAfter: string;
}

interface BoughtLine {
  sku: string;
  quantity: number;
  points: number;
  returned: number;
  reversed: number;
}

/** A member's running state under one program. */
export interface Lane {
  tier: string;
  qualifying: number;
  day: string;
  month: string;
  /** Points counted towards caps this day / month, by type ('*': every type). */
  byDay: Record<string, number>;
  byMonth: Record<string, number>;
  /** Lines of the window's purchases, by order id (what a return reverses). */
  orders: Record<string, BoughtLine[]>;
  total: number;
  issued: number;
  rules: Record<string, number>;
  caps: Record<string, { events: number; points: number }>;
}

export interface MemberRun {
  memberId: string;
  events: number;
  /** From the ledger; replaced by the `base` lane's figures when comparing with a version. */
  actual: { total: number; issued: number; rules: Record<string, number>; tier: string };
  sim: Lane;
  base: Lane | null;
}

export function startLane(program: Program, tier: string, qualifying: number): Lane {
  const known = program.tiers.some((t) => t.name === tier);
  return {
    tier: known ? tier : tierFor(program, qualifying).name,
    qualifying: Math.max(0, qualifying),
    day: '',
    month: '',
    byDay: {},
    byMonth: {},
    orders: {},
    total: 0,
    issued: 0,
    rules: {},
    caps: {},
  };
}

const add = (into: Record<string, number>, key: string, points: number): void => {
  if (points !== 0) into[key] = (into[key] ?? 0) + points;
};

/** Whether `program` earns for an event of this type at all (live accrual refuses it if not). */
function earnable(program: Program, event: SimEvent): boolean {
  if (event.type === 'purchase')
    return program.earning.pointsPerUnit[event.currency ?? ''] !== undefined;
  return program.earning.eventPoints[event.type] !== undefined;
}

/** Replays `event` on `lane` under `program`; answers the points it earned (minus: reversed). */
export function replayEvent(program: Program, lane: Lane, event: SimEvent): number {
  if (event.type === 'return') return replayReturn(lane, event);
  if (!earnable(program, event)) {
    // Refused under this program: it earned nothing, so a return of it reverses nothing.
    if (event.type === 'purchase' && event.orderId) bought(lane, event.orderId, event, []);
    return 0;
  }
  const periods = capPeriods(new Date(event.at));
  if (periods.day !== lane.day) [lane.day, lane.byDay] = [periods.day, {}];
  if (periods.month !== lane.month) [lane.month, lane.byMonth] = [periods.month, {}];
  const usage: CapUsage = {
    dayAll: lane.byDay['*'] ?? 0,
    monthAll: lane.byMonth['*'] ?? 0,
    dayType: lane.byDay[event.type] ?? 0,
    monthType: lane.byMonth[event.type] ?? 0,
  };
  const lines = (event.lines ?? []) as PurchaseLine[];
  const tier = program.tiers[tierIndex(program, lane.tier)]!;
  const e = computeEarning(program, tier, { ...event, lines }, usage);
  add(lane.rules, event.type, e.base);
  for (const name of e.bonuses)
    add(lane.rules, `bonus:${name}`, program.earning.bonuses.find((b) => b.name === name)!.points);
  if (e.capped > 0) {
    add(lane.rules, 'caps', -e.capped);
    const cap = bindingCap(program, event.type, usage);
    const bound = (lane.caps[cap] ??= { events: 0, points: 0 });
    bound.events += 1;
    bound.points += e.capped;
  }
  for (const key of ['*', event.type]) {
    lane.byDay[key] = (lane.byDay[key] ?? 0) + e.earned;
    lane.byMonth[key] = (lane.byMonth[key] ?? 0) + e.earned;
  }
  if (event.type === 'purchase' && event.orderId) bought(lane, event.orderId, event, e.linePoints);
  lane.total += e.earned;
  lane.issued += e.earned;
  lane.qualifying += e.earned;
  const reached = tierFor(program, lane.qualifying);
  if (tierIndex(program, reached.name) > tierIndex(program, lane.tier)) lane.tier = reached.name;
  return e.earned;
}

/** Keeps what each line of a purchase of the window earned (0 when not given), for its returns. */
function bought(lane: Lane, orderId: string, event: SimEvent, linePoints: number[]): void {
  lane.orders[orderId] = ((event.lines ?? []) as PurchaseLine[]).map((line, i) => ({
    sku: line.sku,
    quantity: line.quantity,
    points: linePoints[i] ?? 0,
    returned: 0,
    reversed: 0,
  }));
}

function replayReturn(lane: Lane, event: SimEvent): number {
  const lines = event.orderId ? lane.orders[event.orderId] : undefined;
  let reversed: number;
  if (!lines) {
    // The purchase is before the window: it earned what it really earned, so did its return.
    reversed = -event.actual;
  } else {
    reversed = 0;
    for (const returning of event.lines ?? []) {
      const line = lines.find((b) => b.sku === returning.sku);
      if (!line) continue;
      const points = reversalFor(
        {
          quantity: line.quantity,
          points: line.points,
          returnedQuantity: line.returned,
          reversedPoints: line.reversed,
        },
        returning.quantity,
      );
      line.returned += returning.quantity;
      line.reversed += points;
      reversed += points;
    }
  }
  add(lane.rules, 'returns', -reversed);
  lane.total -= reversed;
  lane.qualifying = Math.max(0, lane.qualifying - reversed);
  return -reversed;
}

/** Adds one event of the member to its run: the ledger's figures, and each lane's replay. */
export function runEvent(
  run: MemberRun,
  event: SimEvent,
  programs: { sim: Program; base: Program | null },
): void {
  run.events += 1;
  run.actual.total += event.actual;
  if (event.type !== 'return') run.actual.issued += event.actual;
  for (const [rule, points] of Object.entries(event.actualRules))
    add(run.actual.rules, rule, points);
  run.actual.tier = event.tierAfter;
  replayEvent(programs.sim, run.sim, event);
  if (run.base && programs.base) replayEvent(programs.base, run.base, event);
}

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

// --- The figures, merged from members (a page's part, the workflow's running total) ---

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

/** A finished member's contribution (its events are all replayed). */
export function memberPart(run: MemberRun, sim: Program): SimulationPart {
  const actual = run.base
    ? { total: run.base.total, issued: run.base.issued, rules: run.base.rules, tier: run.base.tier }
    : run.actual;
  const part = emptyPart();
  part.events = run.events;
  part.activeMembers = 1;
  part.actual = { total: actual.total, issued: actual.issued };
  part.simulated = { total: run.sim.total, issued: run.sim.issued };
  for (const [rule, points] of Object.entries(actual.rules))
    (part.rules[rule] ??= { actual: 0, simulated: 0 }).actual += points;
  for (const [rule, points] of Object.entries(run.sim.rules))
    (part.rules[rule] ??= { actual: 0, simulated: 0 }).simulated += points;
  part.caps = run.sim.caps;
  if (run.sim.tier !== actual.tier) {
    const up = tierIndex(sim, run.sim.tier) > indexOf(sim, actual.tier);
    part.tiers[up ? 'up' : 'down'] = 1;
    part.tiers.changes.push({ memberId: run.memberId, from: actual.tier, to: run.sim.tier });
  }
  const delta = run.sim.total - actual.total;
  if (delta !== 0)
    part.mostAffected.push({
      memberId: run.memberId,
      actual: actual.total,
      simulated: run.sim.total,
      delta,
    });
  return part;
}

const indexOf = (program: Program, tier: string): number =>
  program.tiers.findIndex((t) => t.name === tier);

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
