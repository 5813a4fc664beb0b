/**
 * Before go-live: preparing (the readiness checks run every `checks.every` until they all pass,
 * with a last run at the deadline, while the named owners sign off or withdraw), ready (all passed
 * and all signed: waiting for go, or `goLiveAt`), and waiting for the allowed slot. A sign-off
 * withdrawn meanwhile sends the launch back to preparing.
 */
import { condition } from '@temporalio/workflow';
import { msToNumber } from '@temporalio/common/lib/time';
import { nextAllowedSlot } from '../domain/launch-window';
import { unsignedAreas } from '../domain/launch-plan';
import { done, runChecks, step, take, type LaunchRun, type Pending } from './launch-steps';

const isReady = (run: LaunchRun): boolean =>
  run.status.checksPassed && unsignedAreas(run.status.signoffs).length === 0;

/** Preparing and ready: answers the go (with when) or the cancel. */
export async function prepare(
  run: LaunchRun,
  deadlineAt: number,
): Promise<Pending | { auto: number }> {
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
    // A run when due, and a last one at the deadline.
    if (checking && Date.now() >= Math.min(nextCheckAt, deadlineAt)) {
      const passed = await runChecks(run, deadlineAt);
      nextCheckAt = Date.now() + every;
      if (passed) {
        run.status.checksPassed = true;
        await step(run, { step: 'checks_passed', actor: 'system' });
      } else if (Date.now() >= deadlineAt) {
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
export async function waitForSlot(run: LaunchRun, askedAt: number, actor: string) {
  const slot = nextAllowedSlot(Math.max(askedAt, Date.now()), run.input.policy);
  await step(run, {
    step: 'waiting',
    to: 'waiting',
    actor,
    reason: slot.movedBecause,
    set: { goLiveAt: new Date(slot.at).toISOString(), slotMovedBecause: slot.movedBecause },
    details: { slot: new Date(slot.at).toISOString(), movedBecause: slot.movedBecause },
  });
  while (Date.now() < slot.at) {
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
  }
  return 'go-live' as const;
}
