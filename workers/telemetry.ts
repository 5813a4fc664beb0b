/**
 * The worker's metrics endpoint: the Temporal SDK's Prometheus exporter serves the SDK's own
 * worker metrics (`temporal_*`: pollers, task slots, schedule-to-start and execution latencies)
 * and the activities' business metrics (`activities/metrics.ts`, recorded through the SDK's
 * metric meter) on one port, at `/metrics`.
 */
import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import { histogramBuckets } from '../activities/metrics';
import type { AppConfig } from '../config';

type Telemetry = NonNullable<RuntimeOptions['telemetryOptions']>;

/** The runtime's telemetry options; no metrics exporter when WORKER_METRICS_PORT is 0. */
export function workerTelemetry(
  config: Pick<AppConfig, 'WORKER_METRICS_HOST' | 'WORKER_METRICS_PORT'>,
): Telemetry {
  if (config.WORKER_METRICS_PORT === 0) return {};
  const host = config.WORKER_METRICS_HOST.includes(':')
    ? `[${config.WORKER_METRICS_HOST}]`
    : config.WORKER_METRICS_HOST;
  return {
    metrics: {
      prometheus: {
        bindAddress: `${host}:${config.WORKER_METRICS_PORT}`,
        // Durations in seconds, as Prometheus names them; counters keep the SDK's names.
        useSecondsForDurations: true,
        histogramBucketOverrides: histogramBuckets,
      },
    },
  };
}

/** Installs the SDK runtime with our logger and metrics; a port in use stops it, naming the key. */
export function installWorkerRuntime(
  config: Pick<AppConfig, 'WORKER_METRICS_HOST' | 'WORKER_METRICS_PORT'>,
  logger: NonNullable<RuntimeOptions['logger']>,
): void {
  try {
    Runtime.install({ logger, telemetryOptions: workerTelemetry(config) });
  } catch (err) {
    const where = `${config.WORKER_METRICS_HOST}:${config.WORKER_METRICS_PORT}`;
    throw new Error(
      `cannot serve the worker's metrics on ${where} (WORKER_METRICS_HOST, WORKER_METRICS_PORT; 0 turns them off): ${(err as Error).message}`,
    );
  }
}
