import { z } from 'zod';
import type { Client } from '@temporalio/client';
import type { Db } from '../../infra/db';
import type { Metrics } from '../metrics';
import { Problem } from '../problem';
import { defineRoute, type RouteSpec } from '../route';

export interface SystemDeps {
  db: Db;
  temporal: Client;
  metrics: Metrics;
  openApi: () => Record<string, unknown>;
}

const check = z.object({
  status: z.enum(['up', 'down']),
  latencyMs: z.number(),
  error: z.string().optional(),
});
const health = z.object({
  status: z.literal('ok'),
  checks: z.object({ postgres: check, temporal: check }),
});

async function probe(run: () => Promise<unknown>): Promise<z.infer<typeof check>> {
  const started = performance.now();
  try {
    await run();
    return { status: 'up', latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return {
      status: 'down',
      latencyMs: Math.round(performance.now() - started),
      error: (err as Error).message,
    };
  }
}

export function systemRoutes(deps: SystemDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/health',
      operationId: 'health',
      summary: 'Whether Postgres and Temporal answer',
      tag: 'System',
      auth: 'public',
      responses: {
        200: { description: 'All dependencies are up.', schema: health },
        503: { description: 'A dependency is down: `detail` and `checks` name it.' },
      },
      handler: async (_input, _req, res) => {
        const [postgres, temporal] = await Promise.all([
          probe(() => deps.db.raw('select 1')),
          probe(() =>
            deps.temporal.connection.withDeadline(Date.now() + 2000, () =>
              deps.temporal.workflowService.getSystemInfo({}),
            ),
          ),
        ]);
        const checks = { postgres, temporal };
        const down = Object.entries(checks).filter(([, c]) => c.status === 'down');
        if (down.length) {
          throw new Problem(
            'unavailable',
            `Down: ${down.map(([name, c]) => `${name} (${c.error ?? 'no answer'})`).join(', ')}.`,
            { checks },
          );
        }
        res.json({ status: 'ok', checks });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      tag: 'System',
      auth: 'public',
      responses: {
        200: {
          description: 'Prometheus text exposition format.',
          schema: z.string(),
          contentType: 'text/plain',
        },
      },
      handler: async (_input, _req, res) => {
        res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
      },
    }),
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      operationId: 'openApi',
      summary: 'This OpenAPI 3.1 description',
      tag: 'System',
      auth: 'public',
      responses: { 200: { description: 'The OpenAPI document.', schema: z.looseObject({}) } },
      handler: (_input, _req, res) => {
        res.json(deps.openApi());
      },
    }),
  ];
}
