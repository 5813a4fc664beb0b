/**
 * What the readiness checks share: the result of one check, what they read of a launch plan and
 * of the rule change's simulation, their dependencies, and `guarded` (a check that throws fails).
 */
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { PartnerCallLog } from '../activities/partner-calls';
import type { AppConfig } from '../config';
import type { Db } from '../infra/db';

export type CheckName =
  | 'postgres'
  | 'temporal'
  | 'worker'
  | `partner:${string}`
  | 'float'
  | 'stock'
  | 'webhooks'
  | 'simulation'
  | 'alerts';

export interface CheckResult {
  name: CheckName;
  ok: boolean;
  detail: string;
  observed?: unknown;
}

/**
 * A launch plan's `checks` options that the checks read (zod, for the launch's plan schema to
 * `.extend` with its own `deadline` and `every`).
 */
export const checkOptionsSchema = z.object({
  /** Rewards whose stock must be above threshold. */
  featuredRewards: z.array(z.string().min(1)).max(100).optional(),
  /** The stock a featured reward must be above (default: its own replenish threshold). */
  minStock: z.int().min(0).optional(),
  /** Share of failed partner calls allowed, 0..1 (default 0.2, as the LoyaltyPartnerErrors alert). */
  maxPartnerErrorRate: z.number().min(0).max(1).optional(),
  /** Days of projected gift-card issuance the float must cover (default 3). */
  floatDays: z.number().positive().max(365).optional(),
});
export type CheckOptions = z.infer<typeof checkOptionsSchema>;

/** What the checks read of a launch plan (`checks`); the rest of the plan is the launch's. */
export interface ReadinessPlan {
  checks?: CheckOptions | undefined;
}

/** What the checks read of a `SimulationResult` (domain/simulation.ts). */
export interface SimulatedFigures {
  points: { actual: number; simulated: number };
  perActiveMember?: { actual: number; simulated: number } | undefined;
}

/** The rule change's simulation as its view shows it. */
export interface SimulationSummary {
  id: string | null;
  state: string;
  result: SimulatedFigures | null;
}

/** Either the view's summary, or the bare result attached to the change (completed, then). */
export type SimulationGiven = SimulationSummary | SimulatedFigures;

export function simulationSummary(
  given: SimulationGiven | null | undefined,
): SimulationSummary | null {
  if (!given) return null;
  if ('points' in given) return { id: null, state: 'completed', result: given };
  return given;
}

export interface ReadinessDeps {
  db: Db;
  config: Pick<
    AppConfig,
    | 'TEMPORAL_NAMESPACE'
    | 'TEMPORAL_TASK_QUEUE'
    | 'WAREHOUSE_URL'
    | 'GIFTCARD_URL'
    | 'FLOAT_BURN_DAYS'
    | 'PROMETHEUS_URL'
  >;
  temporal: Client | null;
  /** The partner calls this process made (activities/partner-calls.ts), for the error rate. */
  partnerCalls?: PartnerCallLog | undefined;
}

export interface ReadinessContext {
  changeId?: string | undefined;
  simulation?: SimulationGiven | null | undefined;
}

/** How long one check may take before it fails as unanswered (a hung dependency). */
export const checkTimeoutMs = 15_000;

/** Runs `check`; if it throws, or has not answered in `checkTimeoutMs`, a failed result saying so. */
export async function guarded(
  name: CheckName,
  check: () => Promise<CheckResult>,
  timeoutMs = checkTimeoutMs,
): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    return await Promise.race([check(), late]);
  } catch (err) {
    return { name, ok: false, detail: `the check could not run: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}
