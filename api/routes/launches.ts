import { z } from 'zod';
import { auditTrail, auditView } from '../../changes/audit';
import { getLaunch, listLaunches } from '../../changes/launches';
import { launchAreas, launchPlanSchema, launchStates } from '../../domain/launch-plan';
import {
  cancelUpdate,
  goUpdate,
  pauseUpdate,
  resumeUpdate,
  rollbackUpdate,
  signOffUpdate,
  withdrawSignoffUpdate,
} from '../../workflows/launch-messages';
import type { ChangeActor } from '../../workflows/shared';
import { callerOf } from '../auth';
import { commandLaunch, showLaunch, startLaunch, type LaunchDeps } from '../launches';
import { notFound } from '../problem';
import { defineRoute, type RouteSpec } from '../route';
import type { Response } from 'express';

const params = z.object({ id: z.uuid() });
const reason = z.string().trim().min(3).max(500);

const check = z.object({
  name: z.string(),
  ok: z.boolean(),
  detail: z.string(),
  observed: z.unknown().optional(),
  at: z.iso.datetime(),
});

const launch = z.object({
  id: z.uuid(),
  changeId: z.string(),
  name: z.string(),
  kind: z.enum(['programme', 'tier', 'benefit', 'campaign']),
  state: z.enum(launchStates),
  plan: z.record(z.string(), z.unknown()).describe('The launch plan as given (defaults filled).'),
  checks: z.object({
    results: z.array(check).describe('Each readiness check of the last run.'),
    at: z.iso.datetime().nullable(),
    passed: z.boolean(),
    deadlineAt: z.iso.datetime().nullable(),
    deadlinePassed: z
      .boolean()
      .describe('The checks did not all pass in time: the launch stays preparing; cancel it.'),
  }),
  signoffs: z.array(
    z.object({
      area: z.enum(launchAreas),
      owner: z.string(),
      signed: z.boolean(),
      by: z.string().nullable(),
      at: z.iso.datetime().nullable(),
      reason: z.string().nullable(),
    }),
  ),
  cohort: z.object({
    percent: z.number().describe('Share of members on the new version now (0 before go-live).'),
    plannedPercent: z.number(),
    namedCount: z.number().int(),
    inForce: z.boolean(),
    version: z.number().int(),
    previousVersion: z.number().int(),
  }),
  stage: z.object({
    index: z.number().int().describe('0: the soft launch; n: the plan’s n-th stage.'),
    percent: z.number().nullable(),
    percents: z.array(z.number()),
  }),
  goLiveAt: z.iso.datetime().nullable().describe('When it went (or will go) live.'),
  slotMovedBecause: z.string().nullable().describe('Why go-live waits for a later slot.'),
  monitoring: z
    .object({
      stage: z.number().int(),
      percent: z.number(),
      startedAt: z.iso.datetime(),
      endsAt: z.iso.datetime(),
      pausedWithMsLeft: z.number().nullable(),
      measuredAt: z.iso.datetime().nullable(),
      figures: z.unknown().describe('cohort / rest / baseline figures (`GuardFigures`).'),
      verdicts: z.array(z.unknown()).describe('Each guard metric: value, threshold, breached.'),
    })
    .nullable(),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  workflowId: z.string(),
  workflowUrl: z.string(),
});

const changeActor = (res: Response): ChangeActor => {
  const caller = callerOf(res);
  return { actor: `${caller.role}:${caller.name}`, role: caller.role };
};

const commandResponses = {
  200: { description: 'Done: the launch as it now stands.', schema: launch },
  403: { description: 'The caller is not the owner for this (or a named owner, or an admin).' },
  404: { description: 'No such launch.' },
  409: { description: 'Not now: the problem says why (its state).' },
};

export function launchRoutes(deps: LaunchDeps): RouteSpec[] {
  const command = (
    name: string,
    update: typeof pauseUpdate,
    summary: string,
    body: z.ZodObject = z.strictObject({ reason }),
  ) =>
    defineRoute({
      method: 'post',
      path: `/launches/:id/${name}`,
      operationId: `${name}Launch`,
      summary,
      tag: 'Launches',
      auth: 'ops',
      params,
      body,
      responses: commandResponses,
      handler: async ({ params: { id }, body }, _req, res) => {
        const { reason: why, at } = body as { reason?: string; at?: string };
        const arg = { ...changeActor(res), reason: why ?? `${name} by owner`, at };
        res.json(await commandLaunch(deps, id, update, arg, 'id'));
      },
    });
  return [
    defineRoute({
      method: 'post',
      path: '/launches',
      operationId: 'createLaunch',
      summary: 'Plan the launch of an approved rule change: checks, sign-offs, cohort, windows',
      tag: 'Launches',
      auth: 'admin',
      body: launchPlanSchema,
      responses: {
        201: { description: 'The launch, preparing.', schema: launch },
        404: { description: 'No such rule change.' },
        409: { description: 'The rule change is not approved (or already launching).' },
      },
      handler: async ({ body }, _req, res) => {
        const view = await startLaunch(deps, body, changeActor(res));
        res.status(201).location(`/launches/${view.id}`).json(view);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/launches',
      operationId: 'listLaunches',
      summary: 'Launches, newest first; `?state=` and `?changeId=` narrow them',
      tag: 'Launches',
      auth: 'readonly',
      query: z.object({
        state: z.enum(launchStates).optional(),
        changeId: z.string().max(128).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      responses: {
        200: { description: 'Launches.', schema: z.object({ launches: z.array(launch) }) },
      },
      handler: async ({ query }, _req, res) => {
        const rows = await listLaunches(deps.db, query);
        res.json({ launches: rows.map((row) => showLaunch(deps.config, row)) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/launches/:id',
      operationId: 'getLaunch',
      summary: 'A launch: checklist, sign-offs, cohort, stage and the monitoring window',
      tag: 'Launches',
      auth: 'readonly',
      params,
      responses: {
        200: { description: 'The launch.', schema: launch },
        404: { description: 'No such launch.' },
      },
      handler: async ({ params: { id } }, _req, res) => {
        const row = await getLaunch(deps.db, id);
        if (!row) throw notFound('launch', 'id', id);
        res.json(showLaunch(deps.config, row));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/launches/:id/audit',
      operationId: 'getLaunchAudit',
      summary: "A launch's audit trail: every step, who, when and why, oldest first",
      tag: 'Launches',
      auth: 'readonly',
      params,
      responses: {
        200: {
          description: 'The trail.',
          schema: z.object({
            launchId: z.uuid(),
            trail: z.array(
              z.object({
                at: z.iso.datetime(),
                action: z.string(),
                from: z.string().nullable(),
                to: z.string().nullable(),
                actor: z.string(),
                reason: z.string().nullable(),
                details: z.record(z.string(), z.unknown()),
              }),
            ),
          }),
        },
        404: { description: 'No such launch.' },
      },
      handler: async ({ params: { id } }, _req, res) => {
        if (!(await getLaunch(deps.db, id))) throw notFound('launch', 'id', id);
        const trail = await auditTrail(deps.db, 'launch', id);
        res.json({ launchId: id, trail: trail.map(auditView) });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/launches/:id/signoffs',
      operationId: 'signOffLaunch',
      summary: "An area's owner signs off: their team is briefed and ready",
      tag: 'Launches',
      auth: 'ops',
      params,
      body: z.strictObject({ area: z.enum(launchAreas), reason: reason.optional() }),
      responses: commandResponses,
      handler: async ({ params: { id }, body }, _req, res) => {
        const arg = { ...changeActor(res), area: body.area, reason: body.reason };
        res.json(await commandLaunch(deps, id, signOffUpdate, arg, 'area'));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/launches/:id/signoffs/:area/withdraw',
      operationId: 'withdrawLaunchSignoff',
      summary: "An area's owner withdraws its sign-off before go-live (the launch is not ready)",
      tag: 'Launches',
      auth: 'ops',
      params: params.extend({ area: z.enum(launchAreas) }),
      body: z.strictObject({ reason }),
      responses: commandResponses,
      handler: async ({ params: { id, area }, body }, _req, res) => {
        const arg = { ...changeActor(res), area, reason: body.reason };
        res.json(await commandLaunch(deps, id, withdrawSignoffUpdate, arg, 'area'));
      },
    }),
    command(
      'go',
      goUpdate,
      'Go live (now or at `at`), in the next allowed slot: the cohort soft-launches',
      z.strictObject({
        at: z.iso.datetime({ offset: true }).optional(),
        reason: reason.optional(),
      }),
    ),
    command(
      'pause',
      pauseUpdate,
      'Hold the monitoring window (the cohort stays on the new version)',
    ),
    command('resume', resumeUpdate, 'Continue a paused window where it stopped'),
    command('rollback', rollbackUpdate, 'Return the cohort to the previous version at once'),
    command(
      'cancel',
      cancelUpdate,
      'Call the launch off before go-live (the change is approved again)',
    ),
  ];
}
