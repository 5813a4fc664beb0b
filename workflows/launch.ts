/**
 * A launch (`launch:<id>`): an approved rule change rolled out with care. Preparing: the readiness
 * checks repeat until they all pass (or the deadline) while the named owners sign off; ready; go
 * (at `goLiveAt` or when an owner says so) in the next allowed slot; a soft launch to a cohort on
 * the new version; a monitoring window per stage whose guard metrics roll the cohort back or pause
 * on a breach; promotion stage by stage until the version is in force for everyone. The rule change
 * is told how it ended.
 */
import {
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  log,
} from '@temporalio/workflow';
import { msToNumber } from '@temporalio/common/lib/time';
import { stagePercents, type LaunchState } from '../domain/launch-plan';
import { installHandlers } from './launch-handlers';
import type { LaunchInput } from './launch-messages';
import { monitorWindow } from './launch-monitoring';
import { prepare, waitForSlot } from './launch-preparing';
import { done, newRun, step, take, type LaunchRun } from './launch-steps';
import { launchEndedSignal, workflowIds } from './shared';

/** The end: commands that arrive meanwhile are refused, then every handler has answered. */
async function finish(run: LaunchRun): Promise<LaunchState> {
  run.status.windowEndsAt = null;
  for (;;) {
    take(run, []);
    if (allHandlersFinished()) return run.status.state;
    await condition(() => run.pending !== null || allHandlersFinished());
  }
}

async function tellChange(
  run: LaunchRun,
  outcome: 'promoted' | 'rolled-back' | 'cancelled',
  actor: string,
  reason: string,
): Promise<void> {
  const { launchId, plan } = run.input;
  try {
    await getExternalWorkflowHandle(workflowIds.ruleChange(plan.changeId)).signal(
      launchEndedSignal,
      { launchId, outcome, actor, reason },
    );
  } catch (err) {
    log.warn('could not tell the rule change how the launch ended', { err, outcome });
  }
}

export async function launchWorkflow(input: LaunchInput): Promise<LaunchState> {
  const run = newRun(input);
  installHandlers(run);
  const { plan } = input;
  const deadlineAt = Date.now() + msToNumber(plan.checks.deadline);

  for (;;) {
    const prepared = await prepare(run, deadlineAt);
    if ('command' in prepared && prepared.command === 'cancel') {
      const { actor, reason } = prepared.request;
      await step(run, { step: 'cancelled', to: 'cancelled', actor, reason });
      done(run, prepared);
      await tellChange(run, 'cancelled', actor, reason);
      return finish(run);
    }
    const askedAt =
      'auto' in prepared
        ? prepared.auto
        : prepared.request.at
          ? Date.parse(prepared.request.at)
          : Date.now();
    const actor = 'auto' in prepared ? 'system' : prepared.request.actor;
    if (!('auto' in prepared)) {
      await step(run, { step: 'go', actor, reason: prepared.request.reason, details: { askedAt } });
      done(run, prepared);
    }
    const waited = await waitForSlot(run, askedAt, actor);
    if (waited === 'go-live') break;
    if (waited !== 'not-ready') {
      await step(run, {
        step: 'cancelled',
        to: 'cancelled',
        actor: waited.request.actor,
        reason: waited.request.reason,
      });
      done(run, waited);
      await tellChange(run, 'cancelled', waited.request.actor, waited.request.reason);
      return finish(run);
    }
  }

  const percents = stagePercents(plan);
  run.goLiveAt = Date.now();
  run.status.percent = percents[0]!;
  await step(run, {
    step: 'soft_launched',
    to: 'soft-launched',
    actor: 'system',
    cohort: { open: { percent: percents[0]!, members: plan.cohort.members } },
    set: { stage: 0, cohortPercent: percents[0]!, goLiveAt: new Date(run.goLiveAt).toISOString() },
    details: { percent: percents[0], named: plan.cohort.members?.length ?? 0 },
  });

  for (let stage = 0; ; stage += 1) {
    const ended = await monitorWindow(run, stage);
    if (ended.rollback) {
      const { actor, reason, details } = ended.rollback;
      await step(run, {
        step: 'rolled_back',
        to: 'rolled-back',
        actor,
        reason,
        cohort: { close: true },
        set: { cohortPercent: 0 },
        details,
      });
      if (ended.pending) done(run, ended.pending);
      await tellChange(run, 'rolled-back', actor, reason);
      break;
    }
    const next = percents[stage + 1]!;
    run.status.percent = next;
    run.status.stage = stage + 1;
    if (next === 100) {
      await step(run, {
        step: 'live',
        to: 'live',
        actor: 'system',
        reason: `a clean window at ${percents[stage]} %: in force for everyone`,
        cohort: { general: true },
        set: { stage: stage + 1, cohortPercent: 100 },
      });
      await tellChange(run, 'promoted', 'system', 'every window was clean');
      break;
    }
    await step(run, {
      step: 'promoted',
      to: 'promoting',
      actor: 'system',
      reason: `a clean window at ${percents[stage]} %`,
      cohort: { open: { percent: next } },
      set: { stage: stage + 1, cohortPercent: next },
      details: { percent: next },
    });
  }
  return finish(run);
}
