import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  executeChild,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { GiftCardActivities } from '../activities/giftcards';
import type { InventoryActivities } from '../activities/inventory';
import type { RedemptionActivities } from '../activities/redemptions';
import type { WarehouseActivities } from '../activities/warehouse';
import { nonRetryableFailureTypes } from '../domain/failures';
import {
  cancellableStatuses,
  type RedemptionPlan,
  type RedemptionStatus,
  type TimelineStep,
} from '../domain/redemption';
import {
  cancelRedemptionUpdate,
  redemptionStateQuery,
  searchAttributes,
  shipmentEventSignal,
  workflowIds,
  type RedemptionState,
  type RedemptionWorkflowInput,
  postgresActivity,
} from './shared';
import { substitutionWorkflow } from './substitution';

/** Postgres steps: short, retried with backoff; business failures end the redemption at once. */
const ledger = proxyActivities<RedemptionActivities & InventoryActivities>(postgresActivity);

/**
 * Partner calls over HTTP: idempotent by the redemption id, so retrying never does a thing twice.
 * How often and how long they are retried is program policy (`redemption.partnerAttempts`).
 */
const partnersFor = (retry: RedemptionPlan['partnerRetry']) =>
  proxyActivities<WarehouseActivities & GiftCardActivities>({
    startToCloseTimeout: '20 seconds',
    retry: {
      initialInterval: '500 milliseconds',
      backoffCoefficient: 2,
      maximumInterval: retry.maximumIntervalMs,
      maximumAttempts: retry.maximumAttempts,
      nonRetryableErrorTypes: nonRetryableFailureTypes,
    },
  });

class Cancelled extends Error {}

const tooLate = (status: string) =>
  ApplicationFailure.nonRetryable(
    `The redemption is ${status.replaceAll('_', ' ')}: too late to cancel.`,
    'TooLateToCancel',
  );

/**
 * One redemption (`redemption:<redemptionId>`): check eligibility, hold the points, reserve the
 * stock (or take a coupon code, or issue the gift card), ship with the tier's priority, wait for
 * delivery under the SLA, and turn the hold into the redemption. Any failure, or a cancellation
 * before the parcel leaves the warehouse, undoes what was done in reverse order and says why.
 */
export async function redemptionWorkflow(input: RedemptionWorkflowInput): Promise<RedemptionState> {
  const state: RedemptionState = {
    redemptionId: input.redemptionId,
    status: 'requested',
    plan: null,
    timeline: [],
    reason: null,
    failureType: null,
    shipment: null,
    giftCard: null,
    coupon: null,
    slaBreached: false,
  };
  const ids = { redemptionId: input.redemptionId, memberId: input.memberId };
  let cancel: { actor: string; reason: string } | null = null;
  /** Past the point of no return (shipped, issued) or ended: a cancel is refused from here on. */
  let noReturn = false;
  let shipped = false;
  let delivered = false;
  const undo: { what: string; run: () => Promise<unknown> }[] = [];

  const record = async (
    status: RedemptionStatus | null,
    step: TimelineStep['status'],
    detail: Record<string, unknown> = {},
  ): Promise<void> => {
    // Recorded first, then shown: the query never shows a step Postgres does not have yet.
    const at = Date.now();
    const seq = state.timeline.length + 1;
    await ledger.recordRedemption({
      ...ids,
      seq,
      step: { status: step, at, detail },
      status,
      reason: state.reason,
    });
    state.timeline.push({ status: step, at, detail });
    if (status) {
      state.status = status;
      upsertSearchAttributes([{ key: searchAttributes.RedemptionStatus, value: status }]);
    }
  };
  const checkCancelled = (): void => {
    if (cancel) throw new Cancelled(cancel.reason);
  };
  /** The point of no return (the card issued, the parcel shipped): a pending cancel is refused. */
  const committed = (): void => {
    undo.length = 0;
    noReturn = true;
  };

  setHandler(redemptionStateQuery, () => state);
  setHandler(
    cancelRedemptionUpdate,
    async (request) => {
      cancel ??= request;
      await condition(() => state.status === 'cancelled' || noReturn);
      if (state.status !== 'cancelled') throw tooLate(state.status);
      return state;
    },
    {
      validator: (_request) => {
        if (!cancellableStatuses.includes(state.status) || noReturn) throw tooLate(state.status);
      },
    },
  );
  setHandler(shipmentEventSignal, (event) => {
    if (event.type === 'shipment.shipped') shipped = true;
    if (event.type === 'shipment.delivered') shipped = delivered = true;
  });

  /**
   * Reserves the reward, or when it is out of stock: a substitute by the reward's policy (a child
   * workflow decides), else a backorder if the member opted in, else `OutOfStock`. Answers the SKU
   * reserved. A cancellation stops the wait (and the child's question) at once.
   */
  const reserveOrSubstitute = async (plan: RedemptionPlan): Promise<string> => {
    const reserve = (sku: string) => ledger.reserveStock({ ...ids, sku, quantity: input.quantity });
    let stock = await reserve(plan.sku);
    if (stock.status === 'reserved') return plan.sku;
    if (plan.substitution.mode !== 'none') {
      await record('substitution_pending', 'substitution_pending', {
        mode: plan.substitution.mode,
      });
      const outcome = await untilCancelled((scope) =>
        scope.run(() =>
          executeChild(substitutionWorkflow, {
            workflowId: workflowIds.substitution(input.redemptionId),
            args: [
              {
                ...ids,
                rewardId: input.rewardId,
                quantity: input.quantity,
                tier: plan.tier,
                mode: plan.substitution.mode as 'auto' | 'approval',
                deadlineMs: plan.substitution.deadlineMs,
                reminderMs: plan.substitution.reminderMs,
              },
            ],
          }),
        ),
      );
      if (outcome.decision === 'approved') {
        stock = await reserve(outcome.sku);
        await record(null, 'substituted', {
          sku: outcome.sku,
          by: outcome.by,
          reason: outcome.reason,
        });
        if (stock.status === 'reserved') return outcome.sku;
      } else {
        await record(null, 'substitution_declined', { ...outcome });
      }
    }
    if (input.backorder) {
      await record('backordered', 'backordered', { sku: plan.sku });
      const giveUpAt = Date.now() + plan.backorder.giveUpAfterMs;
      while (Date.now() < giveUpAt) {
        const wait = Math.max(1, Math.min(plan.backorder.checkEveryMs, giveUpAt - Date.now()));
        await condition(() => cancel !== null, wait);
        checkCancelled();
        if ((await reserve(plan.sku)).status === 'reserved') return plan.sku;
      }
    }
    throw ApplicationFailure.nonRetryable(
      `${plan.sku} is out of stock${input.backorder ? ' for longer than the backorder allows' : ''}.`,
      'OutOfStock',
    );
  };

  /** Runs `work` in a scope that a cancel request cancels; then throws `Cancelled`. */
  const untilCancelled = async <T>(work: (scope: CancellationScope) => Promise<T>): Promise<T> => {
    const scope = new CancellationScope();
    const done = work(scope);
    await Promise.race([
      done.then(
        () => undefined,
        () => undefined,
      ),
      condition(() => cancel !== null),
    ]);
    if (cancel) {
      scope.cancel();
      await done.catch(() => undefined);
      checkCancelled();
    }
    return done;
  };

  upsertSearchAttributes([
    { key: searchAttributes.RedemptionStatus, value: state.status },
    { key: searchAttributes.MemberId, value: input.memberId },
    { key: searchAttributes.RewardSku, value: input.rewardId },
  ]);

  try {
    const plan = await ledger.planRedemption(input);
    state.plan = plan;
    const partners = partnersFor(plan.partnerRetry);
    checkCancelled();

    await ledger.holdPoints({ ...ids, points: plan.points, actor: input.actor });
    undo.push({ what: 'points released', run: () => ledger.releasePoints(ids) });
    await record('points_held', 'points_held', {
      points: plan.points,
      tier: plan.tier,
      priority: plan.priority,
    });
    checkCancelled();

    if (plan.kind === 'physical') {
      const sku = await reserveOrSubstitute(plan);
      undo.push({ what: 'stock released', run: () => ledger.releaseStock(ids) });
      await record('stock_reserved', 'stock_reserved', { sku, quantity: input.quantity });
      checkCancelled();

      await record('shipment_requested', 'shipment_requested', { priority: plan.priority });
      // Idempotent by redemption id: if this fails for good, the warehouse never took the parcel.
      const shipment = await partners.createShipment({
        ...ids,
        sku,
        quantity: input.quantity,
        priority: plan.priority,
      });
      undo.push({ what: 'shipment cancelled', run: () => partners.cancelShipment(ids) });
      state.shipment = { trackingNumber: shipment.trackingNumber };

      // Until the parcel leaves, a cancel asks the warehouse to drop it; once shipped, too late.
      while (!shipped) {
        await condition(() => shipped || (cancel !== null && !noReturn));
        if (shipped) break;
        const dropped = await partners.cancelShipment(ids);
        if (dropped.cancelled) {
          undo.pop(); // done just now
          checkCancelled();
        }
        noReturn = true; // it left meanwhile: wait for the callback that says so
      }
      committed();
      await ledger.shipStock(ids);
      await record('shipped', 'shipped', { trackingNumber: shipment.trackingNumber });

      if (!(await condition(() => delivered, plan.deliverySlaMs))) {
        state.slaBreached = true;
        const credit = await ledger.creditServiceRecovery({ ...ids, tier: plan.tier });
        await record(null, 'sla_breached', { slaMs: plan.deliverySlaMs, credited: credit.points });
        await condition(() => delivered);
      }
      await record('delivered', 'delivered', {});
    } else if (plan.kind === 'coupon') {
      const coupon = await ledger.assignCoupon({ ...ids, rewardId: input.rewardId });
      if (coupon.status !== 'assigned') {
        throw ApplicationFailure.nonRetryable(`No codes left for ${input.rewardId}.`, 'OutOfStock');
      }
      committed();
      state.coupon = { code: coupon.code };
      await record('issued', 'issued', { coupon: coupon.code });
    } else {
      const card = await partners.issueGiftCard({ ...ids, ...plan.giftCard! });
      committed();
      state.giftCard = { cardId: card.cardId, code: card.code };
      await record('issued', 'issued', { cardId: card.cardId, floatBalance: card.floatBalance });
    }

    await ledger.redeemPoints(ids);
    await record('completed', 'completed', { points: plan.points });
  } catch (err) {
    if (isCancellation(err)) throw err;
    const cancelled = err instanceof Cancelled;
    state.reason = cancelled ? `cancelled by ${cancel!.actor}: ${cancel!.reason}` : describe(err);
    state.failureType = cancelled ? 'Cancelled' : failureType(err);
    // Compensation runs even if the workflow itself is being cancelled.
    await CancellationScope.nonCancellable(async () => {
      const undone: string[] = [];
      for (const step of undo.reverse()) {
        await step.run();
        undone.push(step.what);
      }
      const status = cancelled ? 'cancelled' : 'failed';
      await record(status, status, {
        reason: state.reason,
        failureType: state.failureType,
        undone,
      });
    });
  }
  noReturn = true; // ended: a cancel still waiting is answered (too late, unless cancelled)
  await condition(allHandlersFinished);
  return state;
}

function failureType(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause ?? err;
  return (cause as { type?: string }).type ?? (err as Error).name;
}

function describe(err: unknown): string {
  const cause = (err as { cause?: Error }).cause;
  return (cause ?? (err as Error)).message;
}
