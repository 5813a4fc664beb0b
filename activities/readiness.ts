/**
 * The launch workflow's readiness activities: the readiness checks (run until all pass or the
 * review's deadline) and the monitoring window's guard figures (judged in the workflow by
 * `judgeGuards`, domain/guard.ts). Both only read; a check that cannot run fails with its reason,
 * so `readinessChecks` answers even when a dependency is down.
 */
import type { Client } from '@temporalio/client';
import type { AppConfig } from '../config';
import type { Db } from '../infra/db';
import { measureGuards, type GuardInput } from '../changes/guard-metrics';
import {
  runReadinessChecks,
  type ReadinessPlan,
  type SimulationGiven,
} from '../changes/readiness-checks';
import type { PartnerCallLog } from './partner-calls';

export interface ReadinessActivityDeps {
  db: Db;
  config: AppConfig;
  temporal: Client | null;
  /** This worker's partner calls (`createActivities` shares one log with the partner activities). */
  partnerCalls?: PartnerCallLog | undefined;
}

export interface ReadinessChecksInput {
  /** The launch plan (only its `checks` are read). */
  plan: ReadinessPlan;
  changeId: string;
  /**
   * The rule change's simulation: as its view shows it (`{id, state, result}`), or the bare
   * `SimulationResult` attached to the change (completed). None: not simulated.
   */
  simulation?: SimulationGiven | null | undefined;
}

export function createReadinessActivities(deps: ReadinessActivityDeps) {
  return {
    async readinessChecks(input: ReadinessChecksInput) {
      return runReadinessChecks(deps, input.plan, {
        changeId: input.changeId,
        simulation: input.simulation,
      });
    },

    async guardFigures(input: GuardInput) {
      return measureGuards(deps, input);
    },
  };
}

export type ReadinessActivities = ReturnType<typeof createReadinessActivities>;
