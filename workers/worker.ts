import type { Client } from '@temporalio/client';
import { type NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { AppConfig } from '../config';
import type { Db } from '../infra/db';
import { dataConverterOf } from '../infra/payload-codec';
import { createActivities } from '../activities';
import { createActivityMetrics } from '../activities/metrics';
import { setBudgetTimeZone, setPointCost } from '../budgets/settings';
import { workflowPreloadModules } from './workflow-bundle';

export interface WorkerDeps {
  config: AppConfig;
  connection: NativeConnection;
  db: Db;
  /** A client for activities that start workflows (the webhook dispatcher). */
  temporal: Client;
  /** A prebuilt workflow bundle (tests build one for the whole run); else bundled at start. */
  workflowBundlePath?: string | undefined;
  /** Another workflows module to bundle (tests: the code as it was before a deploy). */
  workflowsPath?: string | undefined;
}

/** The loyalty worker: every workflow and activity, on the configured task queue. */
export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  setBudgetTimeZone(deps.config.PROGRAM_TIME_ZONE);
  setPointCost(deps.config.POINT_COST);
  return Worker.create({
    connection: deps.connection,
    namespace: deps.config.TEMPORAL_NAMESPACE,
    taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
    dataConverter: dataConverterOf(deps.config),
    ...(deps.workflowBundlePath && !deps.workflowsPath
      ? { workflowBundle: { codePath: deps.workflowBundlePath } }
      : {
          workflowsPath: deps.workflowsPath ?? require.resolve('../workflows'),
          bundlerOptions: { preloadModules: workflowPreloadModules },
        }),
    activities: createActivities({
      db: deps.db,
      config: deps.config,
      temporal: deps.temporal,
      // Through the runtime's exporter, beside the SDK's own metrics (workers/telemetry.ts).
      metrics: createActivityMetrics(Runtime.instance().metricMeter),
    }),
  });
}
