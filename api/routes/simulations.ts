import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { AppConfig } from '../../config';
import { programSchema } from '../../domain/program';
import type { Db } from '../../infra/db';
import { workflowUrl } from '../../infra/temporal';
import {
  createSimulation,
  findSimulation,
  simulationView,
  type SimulationRow,
} from '../../changes/simulations';
import type { simulationWorkflow } from '../../workflows/simulation';
import { workflowIds, type SimulationInput } from '../../workflows/shared';
import { callerOf } from '../auth';
import { notFound, Problem } from '../problem';
import { defineRoute, type RouteSpec } from '../route';
import type { Client } from '@temporalio/client';

const instant = z.iso.datetime({ offset: true });

const body = z
  .strictObject({
    program: programSchema.optional().describe('The proposed program (or give changeId).'),
    changeId: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,128}$/)
      .optional()
      .describe('A rule change whose program to simulate (or give program).'),
    baseVersion: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Compare with this version replayed the same way (unset: what the events earned).'),
    window: z
      .strictObject({ from: instant, to: instant })
      .describe('The stored events replayed: occurred_at in [from, to).'),
  })
  .superRefine((value, ctx) => {
    if ((value.program === undefined) === (value.changeId === undefined))
      ctx.addIssue({ code: 'custom', path: ['program'], message: 'give program or changeId' });
    if (Date.parse(value.window.from) >= Date.parse(value.window.to))
      ctx.addIssue({ code: 'custom', path: ['window', 'to'], message: 'must be after from' });
  });

const figures = z.object({
  rule: z.string(),
  actual: z.number(),
  simulated: z.number(),
  delta: z.number(),
});
const money = z.record(z.string(), z.number());
const result = z.object({
  events: z.number().int(),
  members: z.number().int(),
  activeMembers: z.number().int(),
  points: z.object({
    actual: z.number(),
    simulated: z.number(),
    delta: z.number(),
    byRule: z.array(figures),
  }),
  liability: z.object({ points: z.number(), money }),
  tiers: z.object({
    up: z.number().int(),
    down: z.number().int(),
    changes: z.array(z.object({ memberId: z.string(), from: z.string(), to: z.string() })),
  }),
  caps: z.array(z.object({ cap: z.string(), events: z.number().int(), points: z.number() })),
  mostAffected: z.array(
    z.object({
      memberId: z.string(),
      actual: z.number(),
      simulated: z.number(),
      delta: z.number(),
    }),
  ),
  cost: money,
  perActiveMember: z.object({ actual: z.number(), simulated: z.number() }),
});
const simulation = z.object({
  id: z.string(),
  changeId: z.string().nullable(),
  state: z.enum(['running', 'completed', 'failed']),
  window: z.object({ from: z.iso.datetime(), to: z.iso.datetime() }),
  baseVersion: z.number().int().nullable(),
  progress: z.object({ total: z.number().int(), processed: z.number().int() }),
  result: result.nullable(),
  error: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  completedAt: z.iso.datetime().nullable(),
  workflowId: z.string(),
  workflowUrl: z.string(),
});

interface Deps {
  db: Db;
  config: AppConfig;
  temporal: Client;
}

const view = (config: AppConfig, row: SimulationRow) => {
  const workflowId = workflowIds.simulation(row.id);
  return { ...simulationView(row), workflowId, workflowUrl: workflowUrl(config, workflowId) };
};

/** The program of rule change `changeId` (the `rule_changes` table of change control). */
async function changeProgram(db: Db, changeId: string): Promise<unknown> {
  const exists = await db.schema.hasTable('rule_changes');
  const row = exists
    ? await db('rule_changes')
        .select('program')
        .where('id', changeId)
        .first<{ program: unknown } | undefined>()
    : undefined;
  if (!row) throw notFound('rule change', 'changeId', changeId);
  return row.program;
}

export function simulationRoutes(deps: Deps): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/rule-sets/simulations',
      operationId: 'startSimulation',
      summary:
        'What-if: replay a proposed program over the stored events of a window, writing nothing to the ledger',
      tag: 'Program',
      auth: 'admin',
      body,
      responses: {
        202: {
          description: 'Started; poll the Location for progress and the result.',
          schema: simulation,
        },
      },
      handler: async ({ body }, _req, res) => {
        const caller = callerOf(res);
        const actor = `${caller.role}:${caller.name}`;
        if (body.baseVersion !== undefined) {
          const known = await deps
            .db<{ version: number }>('rule_sets')
            .where({ version: body.baseVersion })
            .first();
          if (!known) throw notFound('rule set', 'baseVersion', String(body.baseVersion));
        }
        const program = body.program ?? (await changeProgram(deps.db, body.changeId!));
        const input: SimulationInput = {
          simulationId: randomUUID(),
          program,
          baseVersion: body.baseVersion,
          window: body.window,
          changeId: body.changeId,
          actor,
        };
        const row = await createSimulation(deps.db, {
          id: input.simulationId,
          changeId: input.changeId,
          program,
          baseVersion: input.baseVersion,
          window: input.window,
          createdBy: actor,
        });
        await start(deps, input);
        res.status(202).location(`/rule-sets/simulations/${row.id}`).json(view(deps.config, row));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/rule-sets/simulations/:id',
      operationId: 'getSimulation',
      summary: "A what-if's progress while it runs, and its result once completed",
      tag: 'Program',
      auth: 'readonly',
      params: z.object({ id: z.string().min(1).max(200) }),
      responses: { 200: { description: 'The simulation.', schema: simulation } },
      handler: async ({ params }, _req, res) => {
        const row = await findSimulation(deps.db, params.id);
        if (!row) throw notFound('simulation', 'id', params.id);
        res.json(view(deps.config, row));
      },
    }),
  ];
}

async function start(deps: Deps, input: SimulationInput): Promise<void> {
  try {
    await deps.temporal.workflow.start<typeof simulationWorkflow>('simulationWorkflow', {
      workflowId: workflowIds.simulation(input.simulationId),
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
      args: [input],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    throw new Problem(
      'unavailable',
      `Simulation ${input.simulationId} could not be started (Temporal: ${(err as Error).message}). Retry the request.`,
    );
  }
}
