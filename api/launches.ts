/**
 * Launches through the API: creating one (the rule change attached first, so a change that is not
 * approved is refused before anything is written), and the owners' commands as Updates of the
 * `launch:<id>` workflow, whose validators' refusals become 403 / 409 problems naming the reason.
 */
import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { launchWindowPolicy, type AppConfig } from '../config';
import { createLaunch, getLaunch, launchView, type LaunchRow } from '../changes/launches';
import type { LaunchPlan } from '../domain/launch-plan';
import type { Db } from '../infra/db';
import { workflowUrl } from '../infra/temporal';
import type { launchWorkflow } from '../workflows/launch';
import { LaunchRefusal, type LaunchStatus } from '../workflows/launch-messages';
import {
  attachLaunchUpdate,
  launchEndedSignal,
  searchAttributes,
  workflowIds,
  type ChangeActor,
} from '../workflows/shared';
import { notFound, Problem } from './problem';
import type { UpdateDefinition } from '@temporalio/common';

export interface LaunchDeps {
  db: Db;
  temporal: Client;
  config: AppConfig;
}

export const showLaunch = (config: AppConfig, row: LaunchRow) => {
  const workflowId = workflowIds.launch(row.id);
  return { ...launchView(row), workflowId, workflowUrl: workflowUrl(config, workflowId) };
};

function refusalProblem(err: WorkflowUpdateFailedError, field: string): Problem {
  const failure = err.cause as { type?: string; message?: string } | undefined;
  const message = failure?.message ?? err.message;
  return new Problem(
    failure?.type === LaunchRefusal.Forbidden ? 'forbidden' : 'conflict',
    message,
    {
      errors: [{ field, message }],
      ...(failure?.type ? { reason: failure.type } : {}),
    },
  );
}

/** Attaches the launch to its rule change, writes it, starts its workflow. */
export async function startLaunch(deps: LaunchDeps, plan: LaunchPlan, caller: ChangeActor) {
  const launchId = randomUUID();
  let attached: { version: number; baseVersion: number };
  try {
    attached = await deps.temporal.workflow
      .getHandle(workflowIds.ruleChange(plan.changeId))
      .executeUpdate(attachLaunchUpdate, { args: [{ ...caller, launchId }] });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw notFound('rule change', 'changeId', plan.changeId);
    if (err instanceof WorkflowUpdateFailedError) throw refusalProblem(err, 'changeId');
    throw err;
  }
  let row: LaunchRow;
  try {
    row = await createLaunch(deps.db, { id: launchId, plan, ...attached, actor: caller.actor });
  } catch (err) {
    // Not saved: the change is free again (approved), as if this launch had been cancelled.
    await deps.temporal.workflow
      .getHandle(workflowIds.ruleChange(plan.changeId))
      .signal(launchEndedSignal, {
        launchId,
        outcome: 'cancelled',
        actor: caller.actor,
        reason: 'the launch could not be saved',
      });
    throw err;
  }
  try {
    await deps.temporal.workflow.start<typeof launchWorkflow>('launchWorkflow', {
      workflowId: workflowIds.launch(launchId),
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      args: [
        {
          launchId,
          plan,
          ...attached,
          policy: launchWindowPolicy(deps.config),
          actor: caller.actor,
        },
      ],
      typedSearchAttributes: [
        { key: searchAttributes.LaunchState, value: 'preparing' },
        { key: searchAttributes.RuleChangeId, value: plan.changeId },
      ],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
      throw new Problem(
        'unavailable',
        `Launch ${launchId} is saved but its workflow could not be started (Temporal: ${(err as Error).message}).`,
        { launchId },
      );
    }
  }
  return showLaunch(deps.config, row);
}

/** Sends one owner's command or sign-off; answers the launch as it then stands. */
export async function commandLaunch<Arg>(
  deps: LaunchDeps,
  id: string,
  update: UpdateDefinition<LaunchStatus, [Arg]>,
  arg: Arg,
  field: string,
) {
  const row = await getLaunch(deps.db, id);
  if (!row) throw notFound('launch', 'id', id);
  try {
    await deps.temporal.workflow
      .getHandle(workflowIds.launch(id))
      .executeUpdate(update, { args: [arg] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw refusalProblem(err, field);
    if (err instanceof WorkflowNotFoundError) {
      throw new Problem('conflict', `The launch is ${row.state}: it has ended.`, {
        errors: [{ field: 'id', message: `launch ${row.state}` }],
      });
    }
    throw err;
  }
  return showLaunch(deps.config, (await getLaunch(deps.db, id))!);
}
