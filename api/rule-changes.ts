/**
 * Rule changes over HTTP: the view, the workflow's start (update-with-start: the change exists
 * once the answer comes), and the commands sent as Workflow Updates, whose validators' refusals
 * become problems naming the reason.
 */
import { randomUUID } from 'node:crypto';
import {
  ServiceError,
  WithStartWorkflowOperation,
  WorkflowIdConflictPolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time';
import type { UpdateDefinition } from '@temporalio/common';
import { z } from 'zod';
import { launchWindowPolicy, type AppConfig } from '../config';
import { showRuleChange, type RuleChangeShown } from '../changes/rule-changes';
import type { Db } from '../infra/db';
import { workflowUrl } from '../infra/temporal';
import type { ruleChangeWorkflow } from '../workflows/rule-change';
import {
  createRuleChangeUpdate,
  RuleChangeRefusal,
  type CreateRuleChange,
  type RuleChangeSnapshot,
} from '../workflows/rule-change-messages';
import { searchAttributes, workflowIds, type ChangeActor } from '../workflows/shared';
import type { Caller } from './auth';
import { notFound, Problem } from './problem';

export interface RuleChangeDeps {
  config: AppConfig;
  db: Db;
  temporal: Client;
}

export const ruleChangeStates = [
  'draft',
  'proposed',
  'approved',
  'scheduled',
  'launching',
  'active',
  'rejected',
  'withdrawn',
  'rolled-back',
] as const;

const endedStates: readonly string[] = ['active', 'rejected', 'withdrawn', 'rolled-back'];

const stamp = z.object({ actor: z.string(), reason: z.string(), at: z.iso.datetime() });

export const ruleChangeSchema = z.object({
  id: z.string(),
  state: z.enum(ruleChangeStates),
  description: z.string().nullable(),
  program: z.record(z.string(), z.unknown()),
  baseVersion: z
    .number()
    .int()
    .nullable()
    .describe('The general version in force when proposed: what the diff compares with.'),
  version: z
    .number()
    .int()
    .nullable()
    .describe('The version published at the final approval (not in force until activated).'),
  revision: z.number().int().describe('Bumped by every edit.'),
  proposedBy: z.string().nullable(),
  approvalsRequired: z.number().int(),
  approvals: z.array(stamp),
  rejection: stamp.nullable(),
  diff: z
    .array(z.object({ path: z.string(), before: z.unknown(), after: z.unknown() }))
    .describe('Field by field against the base version, e.g. `earning.pointsPerUnit.EUR`.'),
  simulation: z
    .object({
      id: z.string(),
      state: z.enum(['running', 'completed', 'failed']),
      progress: z
        .object({ total: z.number().int(), processed: z.number().int() })
        .nullable()
        .describe('Events replayed so far, of all in the window.'),
      result: z.unknown().nullable().describe('The `SimulationResult` once completed.'),
    })
    .nullable()
    .describe('The what-if of this revision over the recent past (null: none yet).'),
  activateAt: z.iso.datetime().nullable(),
  noticeAt: z.iso
    .datetime()
    .nullable()
    .describe('When members are told (`program.rules_changing`).'),
  slotMovedBecause: z
    .string()
    .nullable()
    .describe('Why the activation was moved from the time asked for (the launch window).'),
  activatedAt: z.iso.datetime().nullable(),
  launchId: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  workflowId: z.string(),
  workflowUrl: z.string(),
});

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

export function ruleChangeView(config: AppConfig, row: RuleChangeShown) {
  const workflowId = workflowIds.ruleChange(row.id);
  return {
    id: row.id,
    state: row.state,
    description: row.description,
    program: row.program as unknown as Record<string, unknown>,
    baseVersion: row.base_version,
    version: row.version,
    revision: row.revision,
    proposedBy: row.proposed_by,
    approvalsRequired: row.approvals_required,
    approvals: row.approvals,
    rejection: row.rejection,
    diff: row.diff,
    simulation: row.simulation_id
      ? {
          id: row.simulation_id,
          state: (row.simulation?.state ?? 'running') as 'running' | 'completed' | 'failed',
          progress:
            row.simulation_total === null
              ? null
              : { total: row.simulation_total, processed: row.simulation_processed ?? 0 },
          result: row.simulation?.result ?? null,
        }
      : null,
    activateAt: iso(row.activate_at),
    noticeAt: iso(row.notice_at),
    slotMovedBecause: row.slot_moved_because,
    activatedAt: iso(row.activated_at),
    launchId: row.launch_id,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    workflowId,
    workflowUrl: workflowUrl(config, workflowId),
  };
}

export const actorOf = (caller: Caller): ChangeActor => ({
  actor: `${caller.role}:${caller.name}`,
  role: caller.role,
});

/** A refusal of the workflow (validator or handler) as the problem a caller reads. */
function refusalProblem(err: WorkflowUpdateFailedError): Problem {
  const cause = err.cause as { type?: string; message?: string } | undefined;
  const message = cause?.message ?? err.message;
  switch (cause?.type) {
    case RuleChangeRefusal.Forbidden:
      return new Problem('forbidden', message, { errors: [{ field: 'role', message }] });
    case RuleChangeRefusal.OwnChange:
      return new Problem('forbidden', message, { errors: [{ field: 'approver', message }] });
    case RuleChangeRefusal.DuplicateApproval:
      return new Problem('conflict', message, { errors: [{ field: 'approver', message }] });
    case RuleChangeRefusal.Stale:
      return new Problem('conflict', message, { errors: [{ field: 'baseVersion', message }] });
    default:
      return new Problem('conflict', message, { errors: [{ field: 'state', message }] });
  }
}

/** Temporal did not answer: a 503 the caller may retry; anything else is a bug, left a 500. */
const unavailable = (err: unknown): unknown =>
  err instanceof ServiceError || err instanceof WorkflowUpdateRPCTimeoutOrCancelledError
    ? new Problem(
        'unavailable',
        `The rule change workflow did not answer (Temporal: ${err.message}). Send the same request again.`,
      )
    : err;

export async function loadRuleChange(db: Db, id: string): Promise<RuleChangeShown> {
  const row = await showRuleChange(db, id);
  if (!row) throw notFound('rule change', 'id', id);
  return row;
}

/**
 * A programme a change may carry: its liability ceiling must be in a currency the points are
 * valued in (config POINT_COST), or it could not be enforced.
 */
export function assertPricedCeiling(
  config: AppConfig,
  program: { budgets?: { liability?: { currency: string } | undefined } | undefined },
): void {
  const currency = program.budgets?.liability?.currency;
  if (currency === undefined || config.POINT_COST[currency] !== undefined) return;
  const known = Object.keys(config.POINT_COST).join(', ');
  throw new Problem('validation', 'The request body is not valid.', {
    errors: [
      {
        field: 'program.budgets.liability.currency',
        message: `no cost of a point in ${currency} (POINT_COST has ${known})`,
      },
    ],
  });
}

/** Creates a change request (draft, or proposed at once) through its workflow. */
export async function createRuleChange(
  deps: RuleChangeDeps,
  request: CreateRuleChange,
): Promise<RuleChangeShown> {
  const changeId = randomUUID();
  const workflowId = workflowIds.ruleChange(changeId);
  const start = new WithStartWorkflowOperation<typeof ruleChangeWorkflow>('ruleChangeWorkflow', {
    workflowId,
    taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    args: [
      {
        changeId,
        approvalsRequired: deps.config.RULE_CHANGE_APPROVALS,
        noticeMs: msToNumber(deps.config.RULE_CHANGE_NOTICE),
        policy: launchWindowPolicy(deps.config),
        simulationWindowMs: msToNumber(deps.config.RULE_CHANGE_SIMULATION_WINDOW),
      },
    ],
    typedSearchAttributes: [
      { key: searchAttributes.RuleChangeId, value: changeId },
      { key: searchAttributes.RuleChangeState, value: 'draft' },
    ],
  });
  try {
    await deps.temporal.workflow.executeUpdateWithStart(createRuleChangeUpdate, {
      args: [request],
      startWorkflowOperation: start,
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw refusalProblem(err);
    throw unavailable(err);
  }
  return loadRuleChange(deps.db, changeId);
}

/** Sends a command to a change's workflow; answers the change as it now is. */
export async function commandRuleChange<A>(
  deps: RuleChangeDeps,
  id: string,
  update: UpdateDefinition<RuleChangeSnapshot, [A]>,
  arg: A,
): Promise<RuleChangeShown> {
  const row = await loadRuleChange(deps.db, id);
  const ended = () =>
    new Problem('conflict', `Rule change ${id} is ${row.state}: nothing more can happen to it.`, {
      errors: [{ field: 'state', message: `the change is ${row.state}` }],
    });
  if (endedStates.includes(row.state)) throw ended();
  try {
    await deps.temporal.workflow
      .getHandle(workflowIds.ruleChange(id))
      .executeUpdate(update, { args: [arg] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw refusalProblem(err);
    if (err instanceof WorkflowNotFoundError) throw ended();
    throw unavailable(err);
  }
  return loadRuleChange(deps.db, id);
}
