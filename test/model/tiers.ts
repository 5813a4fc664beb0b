/**
 * Tiers from the README: qualifying points (accruals minus reversals) in a rolling window;
 * crossing a threshold upgrades at once and starts a tier period; at its end a member who still
 * qualifies renews, one who does not gets a grace period, and if still short at its end steps
 * down one tier, which starts a new period. The lowest tier has no period (nothing to step to).
 */
import type { Happening, ModelProgram, TierState } from './types';
import { durationMs } from './time';

export class QualifyingPoints {
  private entries: { at: number; points: number }[] = [];

  add(at: number, points: number): void {
    if (points !== 0) this.entries.push({ at, points });
  }

  /** Sum over the window (at - window, at]. */
  at(at: number, window: string): number {
    const from = at - durationMs(window);
    let sum = 0;
    for (const e of this.entries) if (e.at > from && e.at <= at) sum += e.points;
    return sum;
  }
}

export function tierIndex(program: ModelProgram, name: string): number {
  const i = program.tiers.findIndex((t) => t.name === name);
  return i < 0 ? 0 : i;
}

export function reachedIndex(program: ModelProgram, qualifying: number): number {
  let reached = 0;
  program.tiers.forEach((t, i) => {
    if (qualifying >= t.qualifyingPoints) reached = i;
  });
  return reached;
}

function startPeriod(program: ModelProgram, tier: TierState, index: number, at: number): void {
  tier.name = program.tiers[index]?.name ?? tier.name;
  tier.graceEnd = null;
  tier.periodStart = index === 0 ? null : at;
  tier.periodEnd = index === 0 ? null : at + durationMs(program.tierPeriod);
}

/** After an accrual: upgrade at once if a higher tier is reached. */
export function upgradeIfReached(
  program: ModelProgram,
  tier: TierState,
  qualifying: number,
  at: number,
  out: Happening[],
): void {
  const reached = reachedIndex(program, qualifying);
  if (reached <= tierIndex(program, tier.name)) return;
  startPeriod(program, tier, reached, at);
  out.push({ at, kind: 'tier_up', tier: tier.name });
}

/** The next instant a tier review is due, or null. */
export function tierDue(tier: TierState): number | null {
  return tier.graceEnd ?? tier.periodEnd;
}

/** A period or grace ending at `at`: renew, start grace, or step down one tier. */
export function reviewTier(
  program: ModelProgram,
  tier: TierState,
  qualifying: number,
  at: number,
  out: Happening[],
): void {
  const index = tierIndex(program, tier.name);
  const needed = program.tiers[index]?.qualifyingPoints ?? 0;
  if (qualifying >= needed) {
    startPeriod(program, tier, index, at);
    out.push({ at, kind: 'renewal', tier: tier.name });
  } else if (tier.graceEnd === null) {
    tier.graceEnd = at + durationMs(program.gracePeriod);
    out.push({ at, kind: 'grace', tier: tier.name });
  } else {
    startPeriod(program, tier, Math.max(0, index - 1), at);
    out.push({ at, kind: 'tier_down', tier: tier.name });
  }
}
