/**
 * What the readiness checks share: the result of one check, what they read of a launch plan and
 * of the rule change's simulation, their dependencies, and `guarded` (a check that throws fails).
 */
import type { Client } from '@temporalio/client';
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

/** What the checks read of a launch plan (`checks`); the rest of the plan is the launch's. */
export interface ReadinessPlan {
  checks?:
    | {
        /** Rewards whose stock must be above threshold. */
        featuredRewards?: string[] | undefined;
        /** The stock a featured reward must be above (default: its own replenish threshold). */
        minStock?: number | undefined;
        /** Share of failed partner calls allowed (default 0.2, as the LoyaltyPartnerErrors alert). */
        maxPartnerErrorRate?: number | undefined;
        /** Days of projected gift-card issuance the float must cover (default 3). */
        floatDays?: number | undefined;
      }
    | undefined;
}

/** The rule change's simulation as its view shows it (`result`: a `SimulationResult`). */
export interface SimulationSummary {
  id: string;
  state: string;
  result: {
    points: { actual: number; simulated: number };
    perActiveMember?: { actual: number; simulated: number };
  } | null;
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
  simulation?: SimulationSummary | null | undefined;
}

/** Runs `check`; if it throws, a failed result saying so. */
export async function guarded(
  name: CheckName,
  check: () => Promise<CheckResult>,
): Promise<CheckResult> {
  try {
    return await check();
  } catch (err) {
    return { name, ok: false, detail: `the check could not run: ${(err as Error).message}` };
  }
}
