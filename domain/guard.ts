/**
 * A launch's guard metrics and how they are judged. During the monitoring window the cohort's
 * figures are measured (`changes/guard-metrics.ts`) beside the rest of the programme's and the
 * cohort's own before go-live (its baseline); each metric the plan names is then compared with its
 * threshold, absolutely or relative to the baseline, the rest or what the simulation expected.
 * Pure (no I/O): the launch workflow judges with it deterministically, the API shows the verdicts.
 */
import { z } from 'zod';

/** One group's figures over one period. Counts and points are whole numbers; rates 0..1. */
export interface Figures {
  /** Members in the group (enrolled before the period ended). */
  members: number;
  /** Members of the group with at least one earning event (purchase, return...) in the period. */
  activeMembers: number;
  /** Earning events recorded under another version than the one in force for the member. */
  accrualErrors: number;
  /** Redemptions asked for in the period. */
  redemptions: number;
  /** ...of which failed. */
  redemptionFailures: number;
  /** redemptionFailures / redemptions; 0 without redemptions. */
  redemptionFailureRate: number;
  /** Points earned by accruals in the period. */
  pointsIssued: number;
  /** pointsIssued / activeMembers; 0 without active members. */
  pointsPerActiveMember: number;
  /** Net change of the group's outstanding points (available + pending + held - debt). */
  liabilityGrowth: number;
  /** Anomaly alerts raised about the group's members (no anomaly detection yet: 0). */
  anomalyAlerts: number;
  /** Manual adjustments (and imports) booked to the group's members. */
  manualAdjustments: number;
}

export const guardMetrics = [
  'members',
  'activeMembers',
  'accrualErrors',
  'redemptions',
  'redemptionFailures',
  'redemptionFailureRate',
  'pointsIssued',
  'pointsPerActiveMember',
  'liabilityGrowth',
  'anomalyAlerts',
  'manualAdjustments',
] as const satisfies readonly (keyof Figures)[];
export type GuardMetric = (typeof guardMetrics)[number];

/** What `guardFigures` measures: since go-live (or the stage's start) up to `at`. */
export interface GuardFigures {
  /** ISO instants: the end of the period, its start, and the start of the baseline period. */
  at: string;
  since: string;
  baselineFrom: string;
  cohort: Figures;
  /** Everyone outside the cohort, over the same period. */
  rest: Figures;
  /** The cohort's own figures over [baselineFrom, since): before it went live. */
  baseline: Figures;
  /** What the simulation expected, when it was given (points per active member). */
  expected: Partial<Figures> | null;
  /** What the figures cannot say (e.g. no anomaly detection yet), in words. */
  notes: string[];
}

/**
 * How one metric is judged. `compareTo`:
 * - `absolute` (default): the cohort's value against `threshold` itself;
 * - `baseline` | `rest` | `expected`: against that reference × (1 + threshold); `threshold` is
 *   the deviation allowed as a fraction (0.25: 25 % above). A reference of 0 allows nothing above.
 * `direction`: which side breaches: `above` (default; `either` for `expected`), `below`, `either`.
 * The threshold itself is allowed: only a value beyond it breaches.
 */
export const guardRuleSchema = z.strictObject({
  threshold: z.number().min(0),
  onBreach: z.enum(['rollback', 'pause']),
  compareTo: z.enum(['absolute', 'baseline', 'rest', 'expected']).optional(),
  direction: z.enum(['above', 'below', 'either']).optional(),
});
export type GuardRule = z.infer<typeof guardRuleSchema>;

export const guardPolicySchema = z.partialRecord(z.enum(guardMetrics), guardRuleSchema);
export type GuardPolicy = z.infer<typeof guardPolicySchema>;

export interface GuardVerdict {
  metric: GuardMetric;
  /** The cohort's value. */
  value: number;
  /** The limit the value was held to (the threshold, or the reference moved by it). */
  threshold: number;
  compareTo: 'absolute' | 'baseline' | 'rest' | 'expected';
  /** The reference figure (null for `absolute`, or when there is none to compare with). */
  reference: number | null;
  breached: boolean;
  onBreach: 'rollback' | 'pause';
  /** Why it could not be judged, when it could not. */
  note?: string;
}

/** Rounds away float noise (0.1 + 0.2) so a value exactly at the limit is not beyond it. */
const round = (n: number): number => Math.round(n * 1e9) / 1e9;

/** Each metric of `policy`, judged on the cohort's figures (in the policy's order). */
export function judgeGuards(
  figures: Pick<GuardFigures, 'cohort' | 'rest' | 'baseline'> & {
    expected?: Partial<Figures> | null;
  },
  policy: GuardPolicy,
  expected: Partial<Figures> | null = figures.expected ?? null,
): GuardVerdict[] {
  const verdicts: GuardVerdict[] = [];
  for (const [metric, rule] of Object.entries(policy) as [GuardMetric, GuardRule | undefined][]) {
    if (!rule) continue;
    const value = figures.cohort[metric];
    const compareTo =
      rule.compareTo ?? (metric === 'pointsPerActiveMember' && expected ? 'expected' : 'absolute');
    const direction = rule.direction ?? (compareTo === 'expected' ? 'either' : 'above');
    const base = { metric, value, compareTo, onBreach: rule.onBreach };
    if (compareTo === 'absolute') {
      verdicts.push({
        ...base,
        threshold: rule.threshold,
        reference: null,
        breached: beyond(value, rule.threshold, rule.threshold, direction),
      });
      continue;
    }
    const reference = compareTo === 'expected' ? expected?.[metric] : figures[compareTo][metric];
    if (reference === undefined) {
      verdicts.push({
        ...base,
        threshold: rule.threshold,
        reference: null,
        breached: false,
        note: `no ${compareTo} figure for ${metric}: not judged`,
      });
      continue;
    }
    const upper = round(reference * (1 + rule.threshold));
    const lower = round(reference * (1 - rule.threshold));
    verdicts.push({
      ...base,
      threshold: direction === 'below' ? lower : upper,
      reference,
      breached: beyond(value, upper, lower, direction),
    });
  }
  return verdicts;
}

function beyond(
  value: number,
  upper: number,
  lower: number,
  direction: 'above' | 'below' | 'either',
): boolean {
  const v = round(value);
  if (direction === 'above') return v > upper;
  if (direction === 'below') return v < lower;
  return v > upper || v < lower;
}

/** The verdicts that breached, rollbacks first (a rollback wins over a pause). */
export function breaches(verdicts: GuardVerdict[]): GuardVerdict[] {
  return verdicts
    .filter((v) => v.breached)
    .sort((a, b) => Number(b.onBreach === 'rollback') - Number(a.onBreach === 'rollback'));
}
