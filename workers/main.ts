/** `npm run worker`: polls the loyalty task queue until SIGINT/SIGTERM, then drains and exits. */
import { NativeConnection } from '@temporalio/worker';
import { loadConfigOrExit } from '../config';
import { createDb } from '../infra/db';
import { createLogger } from '../infra/logger';
import { createTemporalClient } from '../infra/temporal';
import { ensureWebhookDispatcher } from './dispatcher';
import { ensureHousekeepingSchedule } from './housekeeping';
import { temporalLogger } from './logging';
import { installWorkerRuntime } from './telemetry';
import { createWorker } from './worker';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'worker' });
  // The SDK shuts the worker down on SIGINT/SIGTERM by default; `run()` then resolves.
  installWorkerRuntime(config, temporalLogger(logger));
  const db = createDb({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = createTemporalClient(config);
  try {
    const worker = await createWorker({ config, connection, db, temporal });
    // Every worker makes sure the outbox is being dispatched (one dispatcher per task queue).
    await ensureWebhookDispatcher(temporal, config);
    // ...and that expired idempotency keys and old callback ids are pruned on a Schedule.
    await ensureHousekeepingSchedule(temporal, config);
    const metrics =
      config.WORKER_METRICS_PORT === 0
        ? null
        : `http://${config.WORKER_METRICS_HOST}:${config.WORKER_METRICS_PORT}/metrics`;
    logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, metrics }, 'worker polling');
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await temporal.connection.close();
    await connection.close();
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed: ${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
