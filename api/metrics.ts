import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AppConfig } from '../config';
import type { Db } from '../infra/db';
import { listFloats } from '../redemptions/giftcards';
import { registerProgramMetrics } from './program-metrics';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
}

/** A registry per app instance (tests build several apps in one process). */
export function createMetrics(deps: { db?: Db; config?: AppConfig } = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const { db } = deps;
  if (db) {
    // Read at scrape time from what the providers last reported (`giftcard_floats`).
    new Gauge({
      name: 'loyalty_giftcard_float',
      help: "Each gift-card provider's float, as its last answer reported it.",
      labelNames: ['provider', 'currency', 'low'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        const rows = await listFloats(db).catch(() => []); // the database down: no figures, not a 500
        for (const row of rows) {
          const labels = {
            provider: row.provider,
            currency: row.currency ?? '',
            low: String(row.low_since !== null),
          };
          this.set(labels, Number(row.balance));
        }
      },
    });
    if (deps.config) {
      registerProgramMetrics(registry, {
        db,
        pointCost: deps.config.POINT_COST,
        floatBurnDays: deps.config.FLOAT_BURN_DAYS,
        cacheMs: deps.config.METRICS_CACHE_SECONDS * 1000,
      });
    }
  }
  return { registry, httpDuration };
}

/** Times every request; the route label is the matched template, never the raw URL. */
export function timeRequests(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const end = metrics.httpDuration.startTimer({ method: req.method });
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      end({ route, status_code: String(res.statusCode) });
    });
    next();
  };
}
