/**
 * Points for an event under a program version: pure arithmetic, no I/O.
 *
 * Purchases earn per line: amount x points per currency unit x channel multiplier x category
 * multiplier x the member's tier multiplier. The total is rounded down once, bonuses are added,
 * then caps cut what exceeds the member's remaining allowance. What is finally earned is shared
 * back over the lines (largest remainder), so a return can reverse exactly what its lines earned.
 */
import type { Program, Tier } from './program';

export interface PurchaseLine {
  sku: string;
  category: string;
  quantity: number;
  amount: number;
}

export interface EarningEvent {
  type: string;
  currency?: string | undefined;
  amount?: number | undefined;
  channel?: string | undefined;
  country?: string | undefined;
  lines?: PurchaseLine[] | undefined;
}

/** Points already earned in the current UTC day and month: all types, and this event's type. */
export interface CapUsage {
  dayAll: number;
  monthAll: number;
  dayType: number;
  monthType: number;
}

export interface Earning {
  /** Before caps: base + bonus. */
  raw: number;
  base: number;
  bonus: number;
  bonuses: string[];
  earned: number;
  capped: number;
  /** Cut by a programme points budget at its limit (after caps). */
  overBudget: number;
  /** What each purchase line earned, in line order (sums to `earned`). */
  linePoints: number[];
}

export function computeEarning(
  program: Program,
  tier: Tier,
  event: EarningEvent,
  usage: CapUsage,
  /** A programme budget's say (domain/budgets.ts): what may be earned of `earned`, `base` of it base. */
  budget?: (earned: number, base: number) => number,
): Earning {
  const { earning } = program;
  const multiplier = tier.benefits.earningMultiplier;
  const lines = event.lines ?? [];
  let exact: number[] = [];
  let base: number;
  if (event.type === 'purchase') {
    const rate = earning.pointsPerUnit[event.currency ?? ''] ?? 0;
    const channel = earning.channelMultipliers[event.channel ?? ''] ?? 1;
    exact = lines.map(
      (line) =>
        line.amount *
        rate *
        channel *
        (earning.categoryMultipliers[line.category] ?? 1) *
        multiplier,
    );
    base = Math.floor(exact.reduce((sum, value) => sum + value, 0) + 1e-9);
  } else {
    base = Math.floor((earning.eventPoints[event.type] ?? 0) * multiplier + 1e-9);
  }
  const matched = earning.bonuses.filter((bonus) => bonusApplies(bonus, event));
  const bonus = matched.reduce((sum, b) => sum + b.points, 0);
  const raw = base + bonus;
  const afterCaps = Math.min(raw, allowance(program, event.type, usage));
  const earned = budget ? budget(afterCaps, Math.min(base, afterCaps)) : afterCaps;
  const weights = exact.some((value) => value > 0) ? exact : lines.map(() => 1);
  return {
    raw,
    base,
    bonus,
    bonuses: matched.map((b) => b.name),
    earned,
    capped: raw - afterCaps,
    overBudget: afterCaps - earned,
    linePoints: shareOut(earned, weights),
  };
}

function bonusApplies(bonus: Program['earning']['bonuses'][number], event: EarningEvent): boolean {
  if (bonus.eventType !== event.type) return false;
  if (bonus.channel !== undefined && bonus.channel !== event.channel) return false;
  if (bonus.country !== undefined && bonus.country !== event.country) return false;
  if (bonus.minAmount !== undefined && (event.amount ?? 0) < bonus.minAmount) return false;
  if (
    bonus.category !== undefined &&
    !(event.lines ?? []).some((l) => l.category === bonus.category)
  )
    return false;
  return true;
}

/** How many more points the caps allow this member for an event of `type` (never below 0). */
export function allowance(program: Program, type: string, usage: CapUsage): number {
  return Math.max(0, Math.min(...capRoom(program, type, usage).map((c) => c.room)));
}

/**
 * What each cap on an event of `type` still allows (Infinity: no such cap), named `all.perDay`,
 * `all.perMonth`, `<type>.perDay`, `<type>.perMonth`: the smallest one binds.
 */
export function capRoom(
  program: Program,
  type: string,
  usage: CapUsage,
): { cap: string; room: number }[] {
  const { all, byEventType } = program.earning.caps;
  const byType = byEventType[type] ?? {};
  return [
    { cap: 'all.perDay', room: all.perDay === undefined ? Infinity : all.perDay - usage.dayAll },
    {
      cap: 'all.perMonth',
      room: all.perMonth === undefined ? Infinity : all.perMonth - usage.monthAll,
    },
    {
      cap: `${type}.perDay`,
      room: byType.perDay === undefined ? Infinity : byType.perDay - usage.dayType,
    },
    {
      cap: `${type}.perMonth`,
      room: byType.perMonth === undefined ? Infinity : byType.perMonth - usage.monthType,
    },
  ];
}

/** The cap that binds on an event of `type` (the one with least room; the first on a tie). */
export function bindingCap(program: Program, type: string, usage: CapUsage): string {
  const rooms = capRoom(program, type, usage);
  return rooms.reduce((least, c) => (c.room < least.room ? c : least), rooms[0]!).cap;
}

/** Splits `total` over `weights` in proportion, whole points, largest remainder first. */
export function shareOut(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (weights.length === 0) return [];
  if (sum <= 0)
    return shareOut(
      total,
      weights.map(() => 1),
    );
  const exact = weights.map((w) => (total * w) / sum);
  const shares = exact.map((value) => Math.floor(value + 1e-9));
  let left = total - shares.reduce((a, b) => a + b, 0);
  const order = exact
    .map((value, i) => ({ i, fraction: value - Math.floor(value + 1e-9) }))
    .sort((a, b) => b.fraction - a.fraction || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    shares[i]! += 1;
    left -= 1;
  }
  return shares;
}

/**
 * Points to reverse when `returning` more units of a line come back: the line's points pro rata
 * by quantity, rounded down, so that the last unit returned reverses exactly what is left.
 */
export function reversalFor(
  line: { quantity: number; points: number; returnedQuantity: number; reversedPoints: number },
  returning: number,
): number {
  const returnedAfter = line.returnedQuantity + returning;
  const due = Math.floor((line.points * returnedAfter) / line.quantity);
  return due - line.reversedPoints;
}

/** UTC calendar periods that caps count in. */
export function capPeriods(at: Date): { day: string; month: string } {
  const iso = at.toISOString();
  return { day: `D${iso.slice(0, 10)}`, month: `M${iso.slice(0, 7)}` };
}
