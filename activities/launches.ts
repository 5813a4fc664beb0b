import type { Db } from '../infra/db';
import type { SimulationSummary } from '../changes/readiness-common';
import {
  applyLaunchStep,
  recordChecks,
  recordMonitoring,
  type ChecksRecord,
  type LaunchStep,
  type MonitoringRecord,
} from '../changes/launches';

/**
 * A launch's side effects in Postgres (`changes/launches.ts`): each step with its cohort change,
 * audit row and programme event in one transaction, once however often retried; and the last
 * readiness checks and guard figures, for the API to show.
 */
export function createLaunchActivities({ db }: { db: Db }) {
  return {
    async launchStep(step: LaunchStep): Promise<boolean> {
      return applyLaunchStep(db, step);
    },
    async recordLaunchChecks(input: { launchId: string; checks: ChecksRecord }): Promise<void> {
      await recordChecks(db, input.launchId, input.checks);
    },
    async recordLaunchMonitoring(input: {
      launchId: string;
      monitoring: MonitoringRecord;
    }): Promise<void> {
      await recordMonitoring(db, input.launchId, input.monitoring);
    },
    /**
     * The rule change's simulation of its current revision, as attached to it (null: none
     * started): the readiness checks look for it, the guards compare points per active member.
     */
    async launchSimulation(changeId: string): Promise<SimulationSummary | null> {
      const row = await db('rule_changes')
        .where({ id: changeId })
        .first<
          | { simulation_id: string | null; simulation: { state: string; result: unknown } | null }
          | undefined
        >('simulation_id', 'simulation');
      if (!row?.simulation_id) return null;
      return {
        id: row.simulation_id,
        state: row.simulation?.state ?? 'running',
        result: (row.simulation?.result ?? null) as SimulationSummary['result'],
      };
    },
  };
}

export type LaunchActivities = ReturnType<typeof createLaunchActivities>;
