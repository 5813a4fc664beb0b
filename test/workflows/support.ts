/**
 * The redemption workflow under the workflow harness: a plan per reward kind, activity stubs for
 * a world where everything goes well (each test overrides the steps that go otherwise), and the
 * assertions every branch makes: the workflow's answer, the queried state and the steps recorded.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { RedemptionPlan, RedemptionStatus, TimelineStep } from '../../domain/redemption';
import {
  cancelRedemptionUpdate,
  redemptionStateQuery,
  shipmentEventSignal,
  workflowIds,
  type RedemptionState,
  type RedemptionWorkflowInput,
} from '../../workflows/shared';
import type { redemptionWorkflow } from '../../workflows';
import type { StepInput } from '../../redemptions/records';
import {
  until,
  type ActivityName,
  type ActivityStubs,
  type Call,
  type WorkflowRun,
} from '../support/workflow-harness';

export const hour = 3_600_000;
export const day = 24 * hour;

export type Redemption = WorkflowHandle<typeof redemptionWorkflow>;

export const physicalPlan = (overrides: Partial<RedemptionPlan> = {}): RedemptionPlan => ({
  kind: 'physical',
  points: 500,
  tier: 'gold',
  priority: 2,
  deliverySlaMs: 3 * day,
  lostAfterMs: 14 * day,
  partnerRetry: { maximumAttempts: 3, maximumIntervalMs: 2_000 },
  sku: 'MUG-RED',
  giftCard: null,
  substitution: { mode: 'none', deadlineMs: 2 * day, reminderMs: day },
  backorder: { checkEveryMs: day, giveUpAfterMs: 3 * day },
  ...overrides,
});

export const giftCardPlan = (): RedemptionPlan =>
  physicalPlan({
    kind: 'gift_card',
    sku: 'GIFT-25',
    giftCard: { provider: 'acme-cards', denomination: 25, currency: 'EUR' },
  });

export const couponPlan = (): RedemptionPlan => physicalPlan({ kind: 'coupon', sku: 'COFFEE' });

/** A fresh redemption (its own ids, so its own workflow) of `rewardId`. */
export const request = (
  overrides: Partial<RedemptionWorkflowInput> = {},
): RedemptionWorkflowInput => ({
  redemptionId: `r-${randomUUID().slice(0, 8)}`,
  memberId: `m-${randomUUID().slice(0, 8)}`,
  rewardId: 'MUG-RED',
  quantity: 1,
  backorder: false,
  actor: 'member:test',
  ...overrides,
});

/** Everything goes well: eligible, in stock, the partners accept. */
export const happyStubs = (plan: RedemptionPlan, overrides: ActivityStubs = {}): ActivityStubs => ({
  planRedemption: () => plan,
  holdPoints: () => undefined,
  releasePoints: () => undefined,
  redeemPoints: () => undefined,
  recordRedemption: () => undefined,
  creditServiceRecovery: () => ({ points: 150 }),
  reserveStock: () => ({ status: 'reserved', available: 9 }),
  releaseStock: () => undefined,
  shipStock: () => undefined,
  createShipment: (input) => ({ trackingNumber: `TRK-${input.redemptionId}` }),
  cancelShipment: () => ({ cancelled: true, found: true }),
  issueGiftCard: () => ({ cardId: 'card-1', code: 'GC-1234', floatBalance: 975 }),
  voidGiftCard: () => ({ voided: false }),
  assignCoupon: () => ({ status: 'assigned', code: 'COFFEE-42' }),
  ...overrides,
});

export function startRedemption(run: WorkflowRun, input: RedemptionWorkflowInput) {
  return run.start<typeof redemptionWorkflow>('redemptionWorkflow', {
    workflowId: workflowIds.redemption(input.redemptionId),
    args: [input],
  });
}

export const stateOf = (handle: Redemption): Promise<RedemptionState> =>
  handle.query(redemptionStateQuery);

/** Waits until the redemption's queried status is `status` (time stands still meanwhile). */
export const reached = (handle: Redemption, status: RedemptionStatus): Promise<RedemptionState> =>
  until(`status ${status}`, async () => {
    const state = await stateOf(handle);
    return state.status === status ? state : undefined;
  });

/** The warehouse's callback, as the API passes it on. */
export const shipment = (
  handle: Redemption,
  type: 'shipped' | 'delivered',
  trackingNumber?: string,
) =>
  handle.signal(shipmentEventSignal, {
    type: `shipment.${type}`,
    trackingNumber,
    at: new Date().toISOString(),
  });

/** The first step `status` in the timeline, once the workflow has taken it. */
export const step = (handle: Redemption, status: TimelineStep['status']) =>
  until(`step ${status}`, async () =>
    (await stateOf(handle)).timeline.find((s) => s.status === status),
  );

export const ids = (input: RedemptionWorkflowInput) => ({
  redemptionId: input.redemptionId,
  memberId: input.memberId,
});

/** The activity calls but the step records (checked by `assertEnded` against the timeline). */
export const effects = (run: WorkflowRun) => run.names('recordRedemption');

/** The inputs of the calls to `name`, without the steps they were given to write. */
export const inputsOf = (run: WorkflowRun, name: ActivityName): Record<string, unknown>[] =>
  run
    .inputs(name)
    .map((input) =>
      Object.fromEntries(Object.entries(input as object).filter(([key]) => key !== 'steps')),
    );

/** Each call given steps to write, with their names, in call order (a retry once per attempt). */
export const stepsGiven = (run: WorkflowRun): [ActivityName, string[]][] =>
  run.calls.flatMap((call) => {
    const steps =
      call.name === 'recordRedemption'
        ? [call.input as StepInput]
        : ((call.input as { steps?: StepInput[] }).steps ?? []);
    return steps.length ? [[call.name, steps.map((s) => s.step.status)]] : [];
  });

/** Answers of an effect that decide nothing (out of stock, no code left): it writes no step. */
const decidedNothing = (call: Call, answer: unknown): boolean =>
  (call.name === 'reserveStock' && (answer as { status: string }).status !== 'reserved') ||
  (call.name === 'assignCoupon' && (answer as { status: string }).status !== 'assigned');

/**
 * An effect that was done, its steps written with it, and then its answer lost (the activity timed
 * out after its transaction committed): the workflow sees a plain failure.
 */
export const answerLost = (message: string): Error =>
  Object.assign(new Error(message), { committed: true });

const isAnswerLost = (err: unknown): boolean => (err as { committed?: boolean }).committed === true;

/**
 * The steps Postgres holds after the calls so far, in order, as the real activities write them:
 * an effect that went ahead writes the `steps` it was given in its transaction (none if it failed,
 * unless `answerLost`, or decided nothing), `recordRedemption` its one step; each number once,
 * first come.
 */
export function written(run: WorkflowRun): StepInput[] {
  const bySeq = new Map<number, StepInput>();
  for (const call of run.calls) {
    if (!call.outcome) continue;
    if (
      'error' in call.outcome
        ? !isAnswerLost(call.outcome.error)
        : decidedNothing(call, call.outcome.answer)
    )
      continue;
    const input = call.input as { steps?: StepInput[] };
    const steps =
      call.name === 'recordRedemption' ? [call.input as StepInput] : (input.steps ?? []);
    for (const step of steps) if (!bySeq.has(step.seq)) bySeq.set(step.seq, step);
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

const untimed = (state: RedemptionState) => ({
  ...state,
  timeline: state.timeline.map(({ at: _at, ...step }) => step),
});

/**
 * The state the workflow answered is the one it shows to a query, it ended in `status` after
 * exactly `steps`, and the steps shown are the ones the stubbed effects were given to write
 * (numbered 1, 2, 3... unless `seqs` says otherwise, at the same times), the last moving the
 * redemption to `status`.
 */
export async function assertEnded(
  run: WorkflowRun,
  handle: Redemption,
  result: RedemptionState,
  status: RedemptionStatus,
  steps: TimelineStep['status'][],
  options: {
    /** `result` is a query's, after the run (a replay): step times within a second (see below). */
    replayed?: boolean;
    /** The steps' numbers, if not 1, 2, 3...: a number given to a call never answered is skipped. */
    seqs?: number[];
  } = {},
): Promise<void> {
  const { replayed = false, seqs = steps.map((_, i) => i + 1) } = options;
  assert.equal(result.status, status, result.reason ?? '');
  assert.deepEqual(
    result.timeline.map((s) => s.status),
    steps,
  );
  // The query after the run replays it, and a replay may time a step taken after a local
  // activity some milliseconds apart from the run (seen 1 run in 3 on the test server): the step
  // times are compared with what was written, below, not here.
  assert.deepEqual(untimed(await stateOf(handle)), untimed(result));
  const recorded = written(run);
  assert.deepEqual(
    recorded.map((r) => [r.seq, r.step.status, r.redemptionId]),
    steps.map((step, i) => [seqs[i], step, result.redemptionId]),
  );
  const writtenAt = recorded.map((r) => r.step.at);
  const shownAt = result.timeline.map((s) => s.at);
  if (replayed) {
    const apart = writtenAt.map((t, i) => Math.abs(t - shownAt[i]!));
    assert.ok(Math.max(...apart) < 1_000, `step times apart by ${apart.join(', ')} ms`);
  } else {
    assert.deepEqual(writtenAt, shownAt);
  }
  assert.equal(recorded.at(-1)?.status, status);
}

/** What the compensation said it undid, from the ending step's detail. */
export const undone = (result: RedemptionState): unknown => result.timeline.at(-1)?.detail?.undone;

/** Every call, and every step it was given to write, for this redemption and member alone. */
export function assertIds(run: WorkflowRun, input: RedemptionWorkflowInput): void {
  for (const call of run.calls) {
    const { steps = [], ...ids } = call.input as {
      redemptionId?: string;
      memberId?: string;
      steps?: StepInput[];
    };
    for (const of of [ids, ...steps]) {
      assert.equal(of.redemptionId, input.redemptionId, `${call.name}'s redemptionId`);
      if (of.memberId !== undefined) assert.equal(of.memberId, input.memberId, call.name);
    }
  }
}

export const cancel = (handle: Redemption, reason = 'the member changed their mind') =>
  handle.executeUpdate(cancelRedemptionUpdate, { args: [{ actor: 'ops:alice', reason }] });

/** A cancel refused: too late, the redemption being `status`. */
export async function assertTooLate(handle: Redemption, status: string): Promise<void> {
  await assert.rejects(cancel(handle), (err: unknown) => {
    assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'TooLateToCancel');
    assert.equal(err.cause.message, `The redemption is ${status}: too late to cancel.`);
    return true;
  });
}
