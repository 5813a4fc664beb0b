import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { Client } from '@temporalio/client';
import type { AppConfig } from '../config';
import type { Db } from '../infra/db';
import { createNotifications } from '../infra/notifications';
import type { Logger } from '../infra/logger';
import { version } from '../package.json';
import { stepChannel } from '../redemptions/records';
import { errorHandler, notFoundHandler } from './errors';
import { consoleRoutes, mountConsoleAssets } from './console';
import { cachedKeyLookup } from './keys';
import { createMetrics, timeRequests } from './metrics';
import { buildOpenApi } from './openapi';
import { mountRoutes, type RouteSpec } from './route';
import { docsRoutes, mountDocsAssets } from './routes/docs';
import { callbackRoutes } from './routes/callbacks';
import { codecRoutes } from './routes/codec';
import { eventRoutes } from './routes/events';
import { eventBatchRoutes } from './routes/events-batch';
import { inventoryRoutes } from './routes/inventory';
import { ledgerRoutes } from './routes/ledger';
import { suspensionRoutes } from './routes/suspension';
import { frozenRoutes } from './routes/frozen';
import { memberRoutes } from './routes/members';
import { programHealthRoutes } from './routes/program-health';
import { budgetRoutes } from './routes/budgets';
import { anomalyRoutes } from './routes/anomalies';
import { setBudgetTimeZone, setPointCost } from '../budgets/settings';
import { startApiInstance } from '../infra/api-instance';
import { rewardRoutes } from './routes/rewards';
import { redemptionRoutes } from './routes/redemptions';
import { reviewRoutes } from './routes/reviews';
import { substitutionRoutes } from './routes/substitutions';
import { webhookRoutes } from './routes/webhooks';
import { ruleSetRoutes } from './routes/rule-sets';
import { ruleChangeRoutes } from './routes/rule-changes';
import { launchRoutes } from './routes/launches';
import { simulationRoutes } from './routes/simulations';
import { sessionRoutes } from './routes/session';
import { systemRoutes } from './routes/system';

export interface AppDeps {
  config: AppConfig;
  db: Db;
  temporal: Client;
  logger: Logger;
}

export interface App {
  app: Express;
  routes: RouteSpec[];
  openApi: Record<string, unknown>;
  /** Ends the event streams and closes the LISTEN connection (before `server.close`). */
  close: () => Promise<void>;
}

const requestIdPattern = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Access-log level: one line per request, except successful `POST /events`, logged one in `every`
 * (their line was ~6 % of the API's CPU under accrual load); failures are always logged.
 */
function sampledEvents(every: number) {
  let seen = 0;
  return (req: IncomingMessage, res: ServerResponse, err?: Error): 'info' | 'silent' => {
    if (err || res.statusCode >= 400 || req.method !== 'POST' || req.url !== '/events')
      return 'info';
    seen = (seen + 1) % every;
    return seen === 0 ? 'info' : 'silent';
  };
}

/** The HTTP app, built from its dependencies (tests listen on port 0). */
export function createApp(deps: AppDeps): App {
  setBudgetTimeZone(deps.config.PROGRAM_TIME_ZONE);
  setPointCost(deps.config.POINT_COST);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  const metrics = createMetrics({ db: deps.db, config: deps.config });
  app.use(timeRequests(metrics));
  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/metrics' },
      customLogLevel: sampledEvents(deps.config.EVENT_ACCESS_LOG_SAMPLE),
    }),
  );
  mountDocsAssets(app);
  // One LISTEN connection for the process, fanned out to the redemption event streams.
  const steps = createNotifications({
    url: deps.config.DATABASE_URL,
    channel: stepChannel,
    keyOf: (payload) => (payload as { redemptionId?: string } | null)?.redemptionId,
    onError: (err) => deps.logger.warn({ err }, 'redemption step notifications: connection lost'),
  });

  const events = [...eventRoutes(deps), ...eventBatchRoutes(deps)];
  const routes: RouteSpec[] = [
    ...systemRoutes({ ...deps, metrics, openApi: () => openApi }),
    ...docsRoutes(),
    ...consoleRoutes(),
    ...memberRoutes(deps),
    ...ledgerRoutes(deps),
    ...suspensionRoutes(deps),
    ...frozenRoutes(deps),
    ...events,
    // Before `/rule-sets/:version`, so `/rule-sets/simulations...` is never read as a version.
    ...simulationRoutes(deps),
    ...ruleSetRoutes(deps),
    ...ruleChangeRoutes(deps),
    ...rewardRoutes(deps),
    ...inventoryRoutes(deps),
    ...redemptionRoutes({ ...deps, steps }),
    ...substitutionRoutes(deps),
    ...reviewRoutes(deps),
    ...anomalyRoutes(deps),
    ...webhookRoutes(deps),
    ...callbackRoutes(deps),
    ...codecRoutes(deps),
    ...sessionRoutes({ ...deps, routes: () => routes }),
    ...programHealthRoutes(deps),
    ...budgetRoutes(deps),
    ...launchRoutes(deps),
  ];
  const openApi = buildOpenApi(routes, { version });
  const findKey = cachedKeyLookup(deps.db, deps.config.API_KEY_CACHE_SECONDS * 1000);
  // This process's heartbeat: the Idempotency-Key leases it holds end when it stops beating.
  const instance = startApiInstance(deps.db, deps.config.IDEMPOTENCY_HEARTBEAT_MS, deps.logger);
  // The hot path (`POST /events`, `/events/batch`) is mounted first: express tries each earlier
  // route's pattern on every request, ~80 of them before it in the declared order. No other route
  // matches these paths, so the order changes nothing else (the OpenAPI document keeps `routes`).
  const mounted = [...events, ...routes.filter((r) => !events.includes(r))];
  mountRoutes(app, mounted, {
    db: deps.db,
    findKey,
    idempotency: {
      leaseMs: deps.config.IDEMPOTENCY_LEASE_SECONDS * 1000,
      ttlMs: deps.config.IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000,
      instance,
    },
  });

  mountConsoleAssets(app);

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  const close = async (): Promise<void> => {
    await Promise.all([steps.close(), instance.stop()]);
  };
  return { app, routes, openApi, close };
}
