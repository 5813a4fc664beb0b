/**
 * One monitoring window of a launch (the soft launch's, or a stage's): the guard metrics measured
 * every `monitoring.every` until the window ends. A breach whose policy is `rollback` ends the
 * window with a rollback; one whose policy is `pause` holds the window for an owner's decision
 * (resume: the window continues where it stopped, that metric's breach now accepted; roll back).
 * Owners may pause or roll back at any time; figures that cannot be measured pause too: a window
 * nobody could watch is not clean.
 */
import { condition, log, proxyActivities } from '@temporalio/workflow';
import { msToNumber } from '@temporalio/common/lib/time';
import type { MonitoringRecord } from '../changes/launches';
import {
  done,
  measure,
  step,
  take,
  type Breach,
  type LaunchRun,
  type Pending,
} from './launch-steps';
import type { LaunchActivities } from '../activities/launches';
import { postgresStep } from './activity-profiles';

const records = proxyActivities<LaunchActivities>(postgresStep);

export interface WindowEnd {
  /** Absent: the window was clean. */
  rollback?: { actor: string; reason: string; details: Record<string, unknown> };
  /** The owner's rollback command, answered once the rollback is recorded. */
  pending?: Pending;
}

type Held = { endsAt: number } | WindowEnd;

async function hold(
  run: LaunchRun,
  window: MonitoringRecord,
  endsAt: number,
  why: { actor: string; reason: string; breach?: string },
  pending: Pending | null,
): Promise<Held> {
  const left = Math.max(1, endsAt - Date.now());
  window.pausedWithMsLeft = left;
  const from = run.status.state;
  run.status.pausedFrom = from;
  run.status.windowEndsAt = null;
  await step(run, {
    step: 'paused',
    to: 'paused',
    actor: why.actor,
    reason: why.reason,
    set: { monitoring: window },
    details: { windowMsLeft: left, ...(why.breach ? { breach: why.breach } : {}) },
  });
  if (pending) done(run, pending);
  for (;;) {
    await condition(() => run.pending !== null);
    const next = take(run, ['resume', 'rollback']);
    if (!next) continue;
    const { actor, reason } = next.request;
    if (next.command === 'rollback') {
      return { rollback: { actor, reason, details: { from: 'paused' } }, pending: next };
    }
    const resumedEndsAt = Date.now() + left;
    Object.assign(window, {
      pausedWithMsLeft: null,
      endsAt: new Date(resumedEndsAt).toISOString(),
    });
    await step(run, {
      step: 'resumed',
      to: from,
      actor,
      reason,
      set: { monitoring: window },
      details: { windowEndsAt: window.endsAt },
    });
    run.status.pausedFrom = null;
    run.status.windowEndsAt = resumedEndsAt;
    done(run, next);
    return { endsAt: resumedEndsAt };
  }
}

export async function monitorWindow(run: LaunchRun, stage: number): Promise<WindowEnd> {
  const { plan, launchId } = run.input;
  const every = msToNumber(plan.monitoring.every);
  const startedAt = Date.now();
  let endsAt = startedAt + msToNumber(plan.monitoring.window);
  const window: MonitoringRecord = {
    stage,
    percent: run.status.percent,
    startedAt: new Date(startedAt).toISOString(),
    endsAt: new Date(endsAt).toISOString(),
    pausedWithMsLeft: null,
    measuredAt: null,
    figures: null,
    verdicts: [],
  };
  run.status.windowEndsAt = endsAt;
  await records.recordLaunchMonitoring({ launchId, monitoring: window });
  const accepted = new Set<string>();

  for (;;) {
    await condition(() => run.pending !== null, Math.max(1, Math.min(every, endsAt - Date.now())));
    const pending = take(run, ['pause', 'rollback']);
    if (pending) {
      const { actor, reason } = pending.request;
      if (pending.command === 'rollback') {
        return { rollback: { actor, reason, details: { stage } }, pending };
      }
      const held = await hold(run, window, endsAt, { actor, reason }, pending);
      if (!('endsAt' in held)) return held;
      endsAt = held.endsAt;
      continue;
    }
    let breaches: Breach[];
    try {
      breaches = await measure(run, window);
    } catch (err) {
      log.warn('guard figures could not be measured', { err });
      const reason = `the guard metrics could not be measured (${(err as Error).message})`;
      const held = await hold(run, window, endsAt, { actor: 'guard', reason }, null);
      if (!('endsAt' in held)) return held;
      endsAt = held.endsAt;
      continue;
    }
    const rollback = breaches.find((b) => b.onBreach === 'rollback');
    if (rollback) {
      return {
        rollback: {
          actor: 'guard',
          reason: `breach: ${rollback.reason}`,
          details: { stage, breach: rollback.metric, verdicts: rollback.verdicts },
        },
      };
    }
    const pause = breaches.find((b) => !accepted.has(b.metric));
    if (pause) {
      accepted.add(pause.metric);
      const why = { actor: 'guard', reason: `breach: ${pause.reason}`, breach: pause.metric };
      const held = await hold(run, window, endsAt, why, null);
      if (!('endsAt' in held)) return held;
      endsAt = held.endsAt;
      continue;
    }
    if (Date.now() >= endsAt) return {};
  }
}
