/**
 * A launch plan as data (validated once, at the API) and the pure rules of a launch's states:
 * who may sign off for an area, who may go, pause, resume or roll back, and when. Pure: the API
 * previews with these rules and the `launch:<id>` workflow's validators enforce them.
 */
import { z } from 'zod';
import { msToNumber } from '@temporalio/common/lib/time';
import { guardPolicySchema } from './guard';

export const launchStates = [
  'preparing',
  'ready',
  'waiting',
  'soft-launched',
  'promoting',
  'live',
  'paused',
  'rolled-back',
  'cancelled',
] as const;
export type LaunchState = (typeof launchStates)[number];

/** States a launch ends in: nothing more can happen to it. */
export const finalLaunchStates: readonly LaunchState[] = ['live', 'rolled-back', 'cancelled'];
/** States in which the cohort is on the new version and a monitoring window runs (or is held). */
export const launchedStates: readonly LaunchState[] = ['soft-launched', 'promoting', 'paused'];

/** The programme events a launch writes (`launch.<step>`), one per step, for webhooks. */
export const launchEventTypes = [
  'launch.created',
  'launch.signed_off',
  'launch.signoff_withdrawn',
  'launch.checks_passed',
  'launch.checks_deadline_passed',
  'launch.ready',
  'launch.not_ready',
  'launch.go',
  'launch.waiting',
  'launch.soft_launched',
  'launch.promoted',
  'launch.live',
  'launch.paused',
  'launch.resumed',
  'launch.rolled_back',
  'launch.cancelled',
] as const;

export const launchAreas = [
  'strategy',
  'operations',
  'support',
  'integrations',
  'finance',
] as const;
export type LaunchArea = (typeof launchAreas)[number];

const duration = z.string().refine((value) => {
  try {
    return msToNumber(value) > 0;
  } catch {
    return false;
  }
}, 'expected a positive duration such as "48 hours" or "5 seconds"');

const actor = z
  .string()
  .regex(
    /^(admin|ops):[A-Za-z0-9._@-]{1,128}$/,
    'expected `ops:<key name>` or `admin:<key name>`, e.g. ops:ops-lead',
  );
const percent = z.number().min(0).max(100);
const id = z.string().regex(/^[A-Za-z0-9._:@-]{1,128}$/, 'letters, digits and . _ : @ - only');

/** A duration in ms, or NaN when it is not one (already reported by its own field). */
const msOf = (value: string): number => {
  try {
    return msToNumber(value);
  } catch {
    return NaN;
  }
};

/** Bounds on a launch's history (about ten events per measurement or check run). */
const maxMeasurements = 2000;
const maxCheckRuns = 2000;

export const launchPlanSchema = z
  .strictObject({
    changeId: id.describe('The approved rule change this launch rolls out.'),
    kind: z.enum(['programme', 'tier', 'benefit', 'campaign']),
    name: z.string().trim().min(1).max(200),
    owners: z
      .strictObject({
        strategy: actor.optional(),
        operations: actor.optional(),
        support: actor.optional(),
        integrations: actor.optional(),
        finance: actor.optional(),
      })
      .refine((o) => Object.values(o).some(Boolean), 'name at least one owner')
      .describe(
        'The owner of each area (`<role>:<key name>`); only that caller signs off for it, and every named area must sign off.',
      ),
    cohort: z.strictObject({
      percent: percent.describe('Share of members (stable hash of the member id) soft-launched.'),
      members: z.array(z.uuid()).max(10_000).optional().describe('Named members, always in.'),
    }),
    stages: z
      .array(percent.positive())
      .min(1)
      .max(10)
      .default([100])
      .describe('Percentages after each clean window, ending at 100 (in force for everyone).'),
    monitoring: z.strictObject({
      window: duration.describe('How long each stage is watched before it is promoted.'),
      every: duration.default('15 minutes').describe('How often the guard metrics are measured.'),
      metrics: guardPolicySchema
        .default({})
        .describe(
          'The guard metrics (`domain/guard.ts`), each with its threshold, what it is compared with and what a breach does.',
        ),
    }),
    checks: z.strictObject({
      deadline: duration.default('24 hours'),
      every: duration.default('1 minute'),
      featuredRewards: z.array(id).max(100).optional(),
      minStock: z.number().int().min(0).optional(),
      maxPartnerErrorRate: z.number().min(0).max(1).optional(),
      floatDays: z.number().int().min(1).max(365).optional(),
    }),
    goLiveAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('Go live then once ready (moved to the next allowed slot); else wait for `go`.'),
  })
  .superRefine((plan, ctx) => {
    const stages = plan.stages;
    if (stages[stages.length - 1] !== 100) {
      ctx.addIssue({ code: 'custom', path: ['stages'], message: 'the last stage must be 100' });
    }
    const ascending = stages.every((p, i) => p > (i === 0 ? plan.cohort.percent : stages[i - 1]!));
    if (!ascending) {
      ctx.addIssue({
        code: 'custom',
        path: ['stages'],
        message: 'each stage must be above the cohort percent and the stage before',
      });
    }
    // Each measurement and each check run is a few events in the workflow's history: bounded.
    const windows = plan.stages.length;
    const measurements =
      Math.ceil(msOf(plan.monitoring.window) / msOf(plan.monitoring.every)) * windows;
    if (measurements > maxMeasurements) {
      ctx.addIssue({
        code: 'custom',
        path: ['monitoring', 'every'],
        message: `too frequent for the windows: ${measurements} measurements in all, at most ${maxMeasurements}`,
      });
    }
    const runs = Math.ceil(msOf(plan.checks.deadline) / msOf(plan.checks.every));
    if (runs > maxCheckRuns) {
      ctx.addIssue({
        code: 'custom',
        path: ['checks', 'every'],
        message: `too frequent for the deadline: ${runs} runs, at most ${maxCheckRuns}`,
      });
    }
    if (plan.cohort.percent === 0 && !plan.cohort.members?.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['cohort'],
        message: 'a soft launch needs a percentage or named members',
      });
    }
  });

export type LaunchPlanInput = z.input<typeof launchPlanSchema>;
export type LaunchPlan = z.infer<typeof launchPlanSchema>;

export interface Signoff {
  area: LaunchArea;
  owner: string;
  signed: boolean;
  by: string | null;
  at: string | null;
  reason: string | null;
}

/** The named areas of a plan, in order, with their owners. */
export function namedAreas(plan: LaunchPlan): { area: LaunchArea; owner: string }[] {
  return launchAreas.flatMap((area) =>
    plan.owners[area] ? [{ area, owner: plan.owners[area] }] : [],
  );
}

export function initialSignoffs(plan: LaunchPlan): Signoff[] {
  return namedAreas(plan).map(({ area, owner }) => ({
    area,
    owner,
    signed: false,
    by: null,
    at: null,
    reason: null,
  }));
}

export const unsignedAreas = (signoffs: Signoff[]): LaunchArea[] =>
  signoffs.filter((s) => !s.signed).map((s) => s.area);

/** Whether `actor` may act for the launch as a whole (go, pause, resume, roll back, cancel). */
export const isOwnerOrAdmin = (plan: LaunchPlan, actor: string, role: string): boolean =>
  role === 'admin' || namedAreas(plan).some((a) => a.owner === actor);

/** Before go-live: sign-offs may still be given or withdrawn. */
export const beforeGoLive = (state: LaunchState): boolean =>
  state === 'preparing' || state === 'ready' || state === 'waiting';

export interface Refusal {
  /** `Forbidden` (not the caller's to do) or `WrongState` (not now). */
  type: 'Forbidden' | 'WrongState';
  message: string;
}

/** Why a sign-off (or its withdrawal) by `actor` for `area` is refused now, or null. */
export function signoffRefusal(
  state: LaunchState,
  signoffs: Signoff[],
  request: { area: LaunchArea; actor: string; withdraw: boolean },
): Refusal | null {
  const entry = signoffs.find((s) => s.area === request.area);
  if (!entry) {
    return { type: 'WrongState', message: `The plan names no owner for ${request.area}.` };
  }
  if (entry.owner !== request.actor) {
    return {
      type: 'Forbidden',
      message: `Only ${entry.owner}, the ${request.area} owner, may sign off for ${request.area}.`,
    };
  }
  if (!beforeGoLive(state)) {
    return { type: 'WrongState', message: `The launch is ${state}: sign-offs are closed.` };
  }
  if (request.withdraw && !entry.signed) {
    return { type: 'WrongState', message: `${request.area} has not signed off.` };
  }
  if (!request.withdraw && entry.signed) {
    return { type: 'WrongState', message: `${request.area} has already signed off.` };
  }
  return null;
}

export type LaunchCommand = 'go' | 'pause' | 'resume' | 'rollback' | 'cancel';

/** Why an owner's command is refused in `state`, or null. */
export function commandRefusal(
  plan: LaunchPlan,
  state: LaunchState,
  command: LaunchCommand,
  caller: { actor: string; role: string },
): Refusal | null {
  if (!isOwnerOrAdmin(plan, caller.actor, caller.role)) {
    return {
      type: 'Forbidden',
      message: `Only a named owner of the launch or an admin may ${command} it.`,
    };
  }
  const wrong = (why: string): Refusal => ({ type: 'WrongState', message: why });
  if (finalLaunchStates.includes(state)) return wrong(`The launch is ${state}: it has ended.`);
  switch (command) {
    case 'go':
      return state === 'ready'
        ? null
        : wrong(
            state === 'preparing'
              ? 'The launch is not ready: every check must pass and every named owner sign off first.'
              : `The launch is ${state}: it has already been told to go.`,
          );
    case 'cancel':
      return beforeGoLive(state)
        ? null
        : wrong(`The launch is ${state}: after go-live, roll it back instead.`);
    case 'pause':
      return state === 'soft-launched' || state === 'promoting'
        ? null
        : wrong(
            state === 'paused'
              ? 'The launch is already paused.'
              : `The launch is ${state}: only a launched cohort's window can be paused (before go-live, cancel instead).`,
          );
    case 'resume':
      return state === 'paused' ? null : wrong(`The launch is ${state}, not paused.`);
    case 'rollback':
      return launchedStates.includes(state)
        ? null
        : wrong(`The launch is ${state}: nothing is launched yet (cancel it instead).`);
  }
}

/** The percentages a launch goes through: the soft launch's, then each stage's. */
export const stagePercents = (plan: LaunchPlan): number[] => [plan.cohort.percent, ...plan.stages];
