/**
 * A launch's readiness checks, run by the launch workflow until all pass or its deadline: Postgres,
 * Temporal and a polling worker healthy; each partner reachable with an acceptable error rate;
 * the gift-card float covering the projected issuance of the first days; the featured rewards'
 * stock above threshold; webhook subscriptions healthy; the rule change simulated; no critical
 * alert open. Every check says what it observed; a check that cannot run fails, saying why.
 */
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { alertsCheck } from './readiness-alerts';
import {
  guarded,
  simulationSummary,
  type CheckResult,
  type SimulationSummary,
  type ReadinessContext,
  type ReadinessDeps,
  type ReadinessPlan,
} from './readiness-common';
import { floatCheck, partnerChecks } from './readiness-partners';
import { stockCheck, webhooksCheck } from './readiness-programme';

export { checkOptionsSchema, guarded } from './readiness-common';
export type {
  CheckName,
  CheckOptions,
  CheckResult,
  ReadinessContext,
  ReadinessDeps,
  ReadinessPlan,
  SimulatedFigures,
  SimulationGiven,
  SimulationSummary,
} from './readiness-common';

/** A poller seen within this long is polling (a long poll lasts up to about a minute). */
const pollerFreshMs = 2 * 60_000;

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return Math.round(performance.now() - started);
}

function postgresCheck(deps: ReadinessDeps): Promise<CheckResult> {
  return guarded('postgres', async () => {
    const latencyMs = await timed(() => deps.db.raw('select 1'));
    return {
      name: 'postgres',
      ok: true,
      detail: `answered in ${latencyMs} ms`,
      observed: { latencyMs },
    };
  });
}

function temporalCheck(deps: ReadinessDeps): Promise<CheckResult> {
  return guarded('temporal', async () => {
    const client = deps.temporal;
    if (!client) return { name: 'temporal', ok: false, detail: 'no Temporal client was given' };
    const latencyMs = await timed(() =>
      client.connection.withDeadline(Date.now() + 2000, () =>
        client.workflowService.getSystemInfo({}),
      ),
    );
    return {
      name: 'temporal',
      ok: true,
      detail: `answered in ${latencyMs} ms`,
      observed: { latencyMs },
    };
  });
}

export interface PollerFigures {
  taskQueue: string;
  workflowPollers: number;
  activityPollers: number;
}

/** Pollers seen on our task queue lately, for workflow tasks and for activity tasks. */
export async function pollersOf(deps: ReadinessDeps, nowMs = Date.now()): Promise<PollerFigures> {
  const client = deps.temporal;
  if (!client) throw new Error('no Temporal client was given');
  const { TaskQueueType } = temporal.api.enums.v1;
  const count = async (taskQueueType: temporal.api.enums.v1.TaskQueueType) => {
    const { pollers } = await client.connection.withDeadline(Date.now() + 5000, () =>
      client.workflowService.describeTaskQueue({
        namespace: deps.config.TEMPORAL_NAMESPACE,
        taskQueue: { name: deps.config.TEMPORAL_TASK_QUEUE },
        taskQueueType,
      }),
    );
    return pollers.filter((p) => nowMs - tsToMs(p.lastAccessTime) <= pollerFreshMs).length;
  };
  const [workflowPollers, activityPollers] = await Promise.all([
    count(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
    count(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
  ]);
  return { taskQueue: deps.config.TEMPORAL_TASK_QUEUE, workflowPollers, activityPollers };
}

function workerCheck(deps: ReadinessDeps, pollers: Promise<PollerFigures>): Promise<CheckResult> {
  return guarded('worker', async () => {
    const observed = await pollers;
    const ok = observed.workflowPollers > 0 && observed.activityPollers > 0;
    const detail = ok
      ? `${observed.workflowPollers} workflow and ${observed.activityPollers} activity pollers on task queue ${observed.taskQueue}`
      : `no worker is polling task queue ${observed.taskQueue} for ${[
          observed.workflowPollers ? null : 'workflow tasks',
          observed.activityPollers ? null : 'activity tasks',
        ]
          .filter(Boolean)
          .join(' or ')} (none seen in the last ${pollerFreshMs / 60_000} minutes)`;
    return { name: 'worker', ok, detail, observed };
  });
}

function simulationCheck(
  simulation: SimulationSummary | null,
  changeId: string | undefined,
): CheckResult {
  const change = changeId ? `rule change ${changeId}` : 'the rule change';
  if (!simulation) {
    return { name: 'simulation', ok: false, detail: `${change} has not been simulated` };
  }
  const observed = {
    id: simulation.id,
    state: simulation.state,
    points: simulation.result?.points,
  };
  const which = simulation.id ? `simulation ${simulation.id}` : 'the simulation';
  if (simulation.state !== 'completed' || !simulation.result) {
    return {
      name: 'simulation',
      ok: false,
      detail: `${which} of ${change} is ${simulation.state}, not completed`,
      observed,
    };
  }
  const { actual, simulated } = simulation.result.points;
  return {
    name: 'simulation',
    ok: true,
    detail: `${which} of ${change} completed: ${simulated} points against ${actual} issued`,
    observed,
  };
}

/** Every check, at once; in the order of the list. */
export async function runReadinessChecks(
  deps: ReadinessDeps,
  plan: ReadinessPlan,
  context: ReadinessContext = {},
): Promise<CheckResult[]> {
  const checks = plan.checks ?? {};
  const simulation = simulationSummary(context.simulation);
  const pollers = pollersOf(deps);
  pollers.catch(() => undefined); // read (and reported) by the worker and alerts checks
  const [postgres, temporalResult, worker, partners, float, stock, webhooks, alerts] =
    await Promise.all([
      postgresCheck(deps),
      temporalCheck(deps),
      workerCheck(deps, pollers),
      partnerChecks(deps, checks.maxPartnerErrorRate ?? 0.2),
      guarded('float', () => floatCheck(deps, checks.floatDays ?? 3, simulation)),
      guarded('stock', () => stockCheck(deps.db, checks.featuredRewards ?? [], checks.minStock)),
      guarded('webhooks', () => webhooksCheck(deps.db)),
      guarded('alerts', () => alertsCheck(deps, pollers)),
    ]);
  return [
    postgres,
    temporalResult,
    worker,
    ...partners,
    float,
    stock,
    webhooks,
    simulationCheck(simulation, context.changeId),
    alerts,
  ];
}
