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
import { until, type ActivityStubs, type WorkflowRun } from '../support/workflow-harness';

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

/**
 * The state the workflow answered is the one it shows to a query, it ended in `status` after
 * exactly `steps`, and every step shown was recorded first (in order, numbered from 1).
 */
export async function assertEnded(
  run: WorkflowRun,
  handle: Redemption,
  result: RedemptionState,
  status: RedemptionStatus,
  steps: TimelineStep['status'][],
): Promise<void> {
  assert.equal(result.status, status, result.reason ?? '');
  assert.deepEqual(
    result.timeline.map((s) => s.status),
    steps,
  );
  assert.deepEqual(await stateOf(handle), result);
  const recorded = run.inputs('recordRedemption');
  assert.deepEqual(
    recorded.map((r) => [r.seq, r.step.status, r.redemptionId]),
    steps.map((step, i) => [i + 1, step, result.redemptionId]),
  );
  assert.equal(recorded.at(-1)?.status, status);
}

/** What the compensation said it undid, from the ending step's detail. */
export const undone = (result: RedemptionState): unknown => result.timeline.at(-1)?.detail?.undone;

/** An ending with the ids of this redemption: each undo called once, for it alone. */
export function assertIds(run: WorkflowRun, input: RedemptionWorkflowInput): void {
  for (const call of run.calls) {
    const ids = call.input as { redemptionId?: string; memberId?: string };
    assert.equal(ids.redemptionId, input.redemptionId, `${call.name}'s redemptionId`);
    if (ids.memberId !== undefined) assert.equal(ids.memberId, input.memberId, call.name);
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
