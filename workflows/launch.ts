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
import { nextAllowedSlot } from '../domain/launch-window';
import { stagePercents, unsignedAreas, type LaunchState } from '../domain/launch-plan';
import { installHandlers } from './launch-handlers';
import type { LaunchInput } from './launch-messages';
import { monitorWindow } from './launch-monitoring';
import { done, newRun, runChecks, step, take, type LaunchRun, type Pending } from './launch-steps';
import { launchEndedSignal, workflowIds } from './shared';

const isReady = (run: LaunchRun): boolean =>
  run.status.checksPassed && unsignedAreas(run.status.signoffs).length === 0;

/** Preparing and ready: answers the go (with when) or the cancel. */
async function prepare(run: LaunchRun, deadlineAt: number): Promise<Pending | { auto: number }> {
  const { plan } = run.input;
  const every = msToNumber(plan.checks.every);
  const goLiveAt = plan.goLiveAt ? Date.parse(plan.goLiveAt) : null;
  let nextCheckAt = Date.now();
  for (;;) {
    await condition(() => run.signoffsInFlight === 0);
    const pending = take(run, ['go', 'cancel']);
    if (pending?.command === 'cancel') return pending;
    if (pending?.command === 'go' && isReady(run)) return pending;
    if (pending) done(run, pending, { type: 'WrongState', message: 'The launch is not ready.' });
    const checking = !run.status.checksPassed && !run.status.checksDeadlinePassed;
    if (checking && Date.now() >= nextCheckAt) {
      run.status.checksPassed = await runChecks(run, deadlineAt);
      nextCheckAt = Date.now() + every;
      if (run.status.checksPassed) await step(run, { step: 'checks_passed', actor: 'system' });
      else if (Date.now() >= deadlineAt) {
        run.status.checksDeadlinePassed = true;
        await step(run, {
          step: 'checks_deadline_passed',
          actor: 'system',
          reason:
            'the readiness checks did not all pass by the deadline: the launch stays preparing; cancel it and plan a new one',
        });
      }
      continue;
    }
    if (isReady(run) && run.status.state === 'preparing') {
      await step(run, { step: 'ready', to: 'ready', actor: 'system' });
      continue;
    }
    if (!isReady(run) && run.status.state === 'ready') {
      const missing = unsignedAreas(run.status.signoffs).join(', ');
      await step(run, {
        step: 'not_ready',
        to: 'preparing',
        actor: 'system',
        reason: `sign-off withdrawn: ${missing}`,
      });
      continue;
    }
    if (run.status.state === 'ready' && goLiveAt !== null && Date.now() >= goLiveAt) {
      return { auto: goLiveAt };
    }
    const waits = [
      checking ? nextCheckAt : null,
      checking ? deadlineAt : null,
      run.status.state === 'ready' ? goLiveAt : null,
    ].filter((t): t is number => t !== null);
    const revision = run.signoffRevision;
    const woken = () => run.pending !== null || run.signoffRevision !== revision;
    if (waits.length) await condition(woken, Math.max(1, Math.min(...waits) - Date.now()));
    else await condition(woken);
  }
}

/** Waiting for the allowed slot; answers what ended the wait. */
async function waitForSlot(run: LaunchRun, askedAt: number, actor: string) {
  const slot = nextAllowedSlot(Math.max(askedAt, Date.now()), run.input.policy);
  await step(run, {
    step: 'waiting',
    to: 'waiting',
    actor,
    reason: slot.movedBecause,
    set: { goLiveAt: new Date(slot.at).toISOString(), slotMovedBecause: slot.movedBecause },
    details: { slot: new Date(slot.at).toISOString(), movedBecause: slot.movedBecause },
  });
  const revision = run.signoffRevision;
  await condition(
    () => run.pending !== null || run.signoffRevision !== revision,
    Math.max(1, slot.at - Date.now()),
  );
  await condition(() => run.signoffsInFlight === 0);
  const pending = take(run, ['cancel']);
  if (pending) return pending;
  if (!isReady(run)) {
    await step(run, {
      step: 'not_ready',
      to: 'preparing',
      actor: 'system',
      reason: `sign-off withdrawn before go-live: ${unsignedAreas(run.status.signoffs).join(', ')}`,
    });
    return 'not-ready' as const;
  }
  if (Date.now() < slot.at) return waitForSlot(run, slot.at, actor);
  return 'go-live' as const;
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
      await condition(allHandlersFinished);
      return run.status.state;
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
      await condition(allHandlersFinished);
      return run.status.state;
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
  run.status.windowEndsAt = null;
  await condition(allHandlersFinished);
  return run.status.state;
}
