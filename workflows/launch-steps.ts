/**
 * The launch's steps: each one recorded (state, cohort change, audit row and programme event in one
 * transaction) and then shown as the `LaunchState` search attribute; the owners' pending command;
 * the readiness checks; and the guard measurement of a monitoring window.
 */
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { LaunchActivities } from '../activities/launches';
import type { ReadinessActivities } from '../activities/readiness';
import type { LaunchStep, MonitoringRecord, RecordedCheck } from '../changes/launches';
import { breaches, judgeGuards } from '../domain/guard';
import {
  initialSignoffs,
  type LaunchCommand,
  type LaunchState,
  type Refusal,
} from '../domain/launch-plan';
import type { CommandRequest, LaunchInput, LaunchStatus } from './launch-messages';
import { postgresStep, readinessCheck } from './activity-profiles';
import { searchAttributes } from './shared';

const records = proxyActivities<LaunchActivities>(postgresStep);
const readiness = proxyActivities<ReadinessActivities>(readinessCheck);

export interface Pending {
  command: LaunchCommand;
  request: CommandRequest;
  ticket: number;
}

/** Everything the running launch keeps: its status (the query's answer) and its bookkeeping. */
export interface LaunchRun {
  input: LaunchInput;
  status: LaunchStatus;
  /** The last step's number (its event's dedupe key). */
  seq: number;
  /** Bumped once a sign-off (or its withdrawal) is recorded: the playbook looks again. */
  signoffRevision: number;
  /** Sign-offs being recorded: the playbook acts on them once they are. */
  signoffsInFlight: number;
  pending: Pending | null;
  tickets: number;
  handled: number;
  refused: Map<number, Refusal>;
  /** Epoch ms of the go-live (the soft launch). */
  goLiveAt: number | null;
  /** The simulation's points per active member, when the change has one. */
  expectedPerActiveMember: number | undefined;
}

export function newRun(input: LaunchInput): LaunchRun {
  return {
    input,
    status: {
      launchId: input.launchId,
      state: 'preparing',
      signoffs: initialSignoffs(input.plan),
      checksPassed: false,
      checksDeadlinePassed: false,
      percent: 0,
      stage: 0,
      windowEndsAt: null,
      pausedFrom: null,
    },
    seq: 0,
    signoffRevision: 0,
    signoffsInFlight: 0,
    pending: null,
    tickets: 0,
    handled: 0,
    refused: new Map(),
    goLiveAt: null,
    expectedPerActiveMember: undefined,
  };
}

/** Records one step; a new state is also shown as the `LaunchState` search attribute. */
export async function step(run: LaunchRun, s: Omit<LaunchStep, 'launchId' | 'seq'>): Promise<void> {
  const seq = ++run.seq;
  await records.launchStep({ launchId: run.input.launchId, seq, ...s });
  if (s.to && s.to !== run.status.state) {
    run.status.state = s.to;
    upsertSearchAttributes([{ key: searchAttributes.LaunchState, value: s.to }]);
  }
}

/** The pending command, if it is one of `accepted`; any other is refused (not now). */
export function take(run: LaunchRun, accepted: LaunchCommand[]): Pending | null {
  const pending = run.pending;
  if (!pending) return null;
  if (accepted.includes(pending.command)) return pending;
  done(run, pending, {
    type: 'WrongState',
    message: `The launch is ${run.status.state}: it cannot ${pending.command} now.`,
  });
  return null;
}

/** The command carried out (or refused): its Update answers. */
export function done(run: LaunchRun, pending: Pending, refusal?: Refusal): void {
  if (refusal) run.refused.set(pending.ticket, refusal);
  run.handled = pending.ticket;
  run.pending = null;
}

/** One run of the readiness checks, recorded; answers whether every check passed. */
export async function runChecks(run: LaunchRun, deadlineAt: number): Promise<boolean> {
  const { launchId, plan } = run.input;
  const simulation = await records.launchSimulation(plan.changeId);
  run.expectedPerActiveMember = simulation?.result?.perActiveMember?.simulated;
  const at = new Date().toISOString();
  let results: RecordedCheck[];
  try {
    const checks = await readiness.readinessChecks({
      plan,
      changeId: plan.changeId,
      simulation,
    });
    results = checks.map((c) => ({ ...c, at }));
  } catch (err) {
    const cause = (err as Error).cause as Error | undefined;
    const detail = `the checks could not run: ${cause?.message ?? (err as Error).message}`;
    results = [{ name: 'checks', ok: false, detail, at }];
  }
  const passed = results.length > 0 && results.every((c) => c.ok);
  await records.recordLaunchChecks({
    launchId,
    checks: {
      results,
      at,
      passed,
      deadlineAt: new Date(deadlineAt).toISOString(),
      deadlinePassed: !passed && Date.now() >= deadlineAt,
    },
  });
  return passed;
}

export interface Breach {
  metric: string;
  onBreach: 'rollback' | 'pause';
  reason: string;
  verdicts: unknown[];
}

/** Measures the guard metrics of the window now and records them; answers the breaches. */
export async function measure(run: LaunchRun, window: MonitoringRecord): Promise<Breach[]> {
  const { launchId, plan } = run.input;
  const now = Date.now();
  const since = Date.parse(window.startedAt);
  const figures = await readiness.guardFigures({
    launchId,
    cohort: {
      percent: run.status.percent,
      ...(plan.cohort.members ? { members: plan.cohort.members } : {}),
    },
    since: window.startedAt,
    // The cohort's own baseline: as long a period before the window as has passed since.
    baselineFrom: new Date(since - Math.max(now - since, 1000)).toISOString(),
    at: new Date(now).toISOString(),
    ...(run.expectedPerActiveMember !== undefined
      ? { expectedPerActiveMember: run.expectedPerActiveMember }
      : {}),
  });
  const verdicts = judgeGuards(figures, plan.monitoring.metrics);
  Object.assign(window, { measuredAt: new Date(now).toISOString(), figures, verdicts });
  await records.recordLaunchMonitoring({ launchId, monitoring: window });
  return breaches(verdicts).map((v) => ({
    metric: v.metric,
    onBreach: v.onBreach,
    reason: `${v.metric} ${v.value} beyond ${v.threshold} (${v.compareTo}${v.reference === null ? '' : ` ${v.reference}`})`,
    verdicts,
  }));
}

export const isFinal = (state: LaunchState): boolean =>
  state === 'live' || state === 'rolled-back' || state === 'cancelled';
