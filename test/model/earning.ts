/**
 * What an event earns, from the README's "Earning rules are data": a purchase earns per line
 * (amount x rate x multipliers), rounded down once; bonuses are added; caps cut what exceeds the
 * member's allowance per UTC day and month (overall and per event type). Arithmetic is exact:
 * amounts are cents and every multiplier is read as the decimal it is written as, so a rounding
 * the engine gets wrong in floating point shows up as a divergence.
 */
import type { ModelBonus, ModelCap, ModelProgram, PurchaseLine } from './types';
import { utcDay, utcMonth } from './time';

const SCALE = 1_000_000n;

/** A decimal multiplier as an integer over SCALE (six decimals are plenty for a program). */
function scaled(value: number): bigint {
  return BigInt(Math.round(value * 1_000_000));
}

/** Each line's exact points as a fraction over a common denominator, and their floored sum. */
export interface PurchaseEarning {
  /** Numerators of each line's points (common denominator `denominator`). */
  lineRaw: bigint[];
  denominator: bigint;
  /** floor(sum of lines), before bonuses and caps. */
  base: number;
}

export function purchaseBase(
  program: ModelProgram,
  currency: string,
  channel: string,
  lines: PurchaseLine[],
  tierMultiplier: number,
): PurchaseEarning | null {
  const rate = program.pointsPerUnit[currency];
  if (rate === undefined) return null;
  const channelFactor = program.channelMultipliers[channel] ?? 1;
  const denominator = 100n * SCALE * SCALE * SCALE * SCALE;
  const lineRaw = lines.map((line) => {
    const category = program.categoryMultipliers[line.category] ?? 1;
    return (
      BigInt(line.cents) *
      scaled(rate) *
      scaled(channelFactor) *
      scaled(category) *
      scaled(tierMultiplier)
    );
  });
  const total = lineRaw.reduce((sum, raw) => sum + raw, 0n);
  return { lineRaw, denominator, base: Number(total / denominator) };
}

/** Fixed points of a non-purchase event, times the tier's multiplier, rounded down (QUESTIONS.md, 9). */
export function fixedBase(program: ModelProgram, type: string, tierMultiplier: number): number {
  const points = program.eventPoints[type] ?? 0;
  return Number((BigInt(points) * scaled(tierMultiplier)) / SCALE);
}

export interface BonusContext {
  type: string;
  channel?: string;
  country?: string;
  categories: string[];
  cents?: number;
}

/** Bonus points of an event: each matching bonus once (not multiplied: see QUESTIONS.md). */
export function bonusPoints(bonuses: ModelBonus[], event: BonusContext): number {
  let sum = 0;
  for (const bonus of bonuses) {
    if (bonus.eventType !== event.type) continue;
    if (bonus.channel !== undefined && bonus.channel !== event.channel) continue;
    if (bonus.country !== undefined && bonus.country !== event.country) continue;
    if (bonus.category !== undefined && !event.categories.includes(bonus.category)) continue;
    if (bonus.minAmount !== undefined && (event.cents ?? 0) < Math.round(bonus.minAmount * 100)) {
      continue;
    }
    sum += bonus.points;
  }
  return sum;
}

/** What a member earned, by cap bucket: `all|day|2027-02-28`, `review|month|2027-02`. */
export type CapUsage = Map<string, number>;

function buckets(type: string, at: number): { all: [string, string]; own: [string, string] } {
  const day = utcDay(at);
  const month = utcMonth(at);
  return {
    all: [`all|day|${day}`, `all|month|${month}`],
    own: [`${type}|day|${day}`, `${type}|month|${month}`],
  };
}

function room(cap: ModelCap | undefined, usage: CapUsage, keys: [string, string]): number {
  let left = Number.POSITIVE_INFINITY;
  if (cap?.perDay !== undefined) left = Math.min(left, cap.perDay - (usage.get(keys[0]) ?? 0));
  if (cap?.perMonth !== undefined) left = Math.min(left, cap.perMonth - (usage.get(keys[1]) ?? 0));
  return Math.max(0, left);
}

/** Cut `points` to the member's allowance and count what is kept. Returns [kept, capped]. */
export function applyCaps(
  program: ModelProgram,
  usage: CapUsage,
  type: string,
  at: number,
  points: number,
): [number, number] {
  const keys = buckets(type, at);
  const allowance = Math.min(
    room(program.caps.all, usage, keys.all),
    room(program.caps.byEventType[type], usage, keys.own),
  );
  const kept = Math.min(points, allowance);
  for (const key of [...keys.all, ...keys.own]) usage.set(key, (usage.get(key) ?? 0) + kept);
  return [kept, points - kept];
}

/**
 * The order's final points shared over its lines in proportion to each line's exact points (equal
 * weights if none earned any), whole points, the largest remainders first (ties: the earlier line).
 * Settled against the engine (QUESTIONS.md, 16).
 */
export function lineShares(earned: number, lineRaw: bigint[]): number[] {
  const weights = lineRaw.some((w) => w > 0n) ? lineRaw : lineRaw.map(() => 1n);
  const sum = weights.reduce((a, b) => a + b, 0n);
  if (sum === 0n) return weights.map(() => 0);
  const total = BigInt(earned);
  const shares = weights.map((w) => (total * w) / sum);
  let left = total - shares.reduce((a, b) => a + b, 0n);
  const order = weights
    .map((w, i) => ({ i, remainder: (total * w) % sum }))
    .sort((a, b) => (a.remainder === b.remainder ? a.i - b.i : a.remainder > b.remainder ? -1 : 1));
  for (const { i } of order) {
    if (left <= 0n) break;
    shares[i] = (shares[i] ?? 0n) + 1n;
    left -= 1n;
  }
  return shares.map(Number);
}

/**
 * What an order's returns have reversed so far: each line its share pro rata by the quantity
 * returned, rounded down, so returning a line's last unit reverses exactly what is left of it.
 */
export function reversedSoFar(shares: number[], quantities: number[], returned: number[]): number {
  return shares.reduce(
    (sum, share, i) => sum + Math.floor((share * (returned[i] ?? 0)) / (quantities[i] ?? 1)),
    0,
  );
}
