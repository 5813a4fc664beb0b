/**
 * The what-if's replay, as pure arithmetic: one member's events of a window replayed under a
 * program with the live earning code (`computeEarning`, `capPeriods`, `reversalFor`, `tierFor`),
 * and the member's contribution to the figures (`simulation.ts`) once all its events are in. No
 * I/O: the page activity feeds it rows, the workflow carries a member cut by a page (plain JSON).
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
import { emptyPart, type SimulationPart } from './simulation';

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
