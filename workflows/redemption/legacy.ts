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
import type { GiftCardActivities } from '../../activities/giftcards';
import type { InventoryActivities } from '../../activities/inventory';
import type { RedemptionActivities } from '../../activities/redemptions';
import type { WarehouseActivities } from '../../activities/warehouse';
import {
  cancellableStatuses,
  type RedemptionPlan,
  type RedemptionStatus,
  type TimelineStep,
} from '../../domain/redemption';
import {
  cancelRedemptionUpdate,
  redemptionStateQuery,
  searchAttributes,
  shipmentEventSignal,
  workflowIds,
  type RedemptionState,
  type RedemptionWorkflowInput,
} from '../shared';
import {
  answeredNo,
  Cancelled,
  describe,
  failureType,
  humanDuration,
  Lost,
  tooLate,
} from './endings';
import { partnerCall, partnerUndo, postgresStep } from '../activity-profiles';
import { substitutionWorkflow } from '../substitution';

/**
 * FROZEN: the redemption as runs started before `redemption-playbook-v2` (see ./index.ts) take it.
 * Their histories have an activity per timeline step; replaying them needs this exact sequence
 * of commands, so nothing here changes (only its imports and its activity option profiles, which
 * are the same options as before). Delete it, and `deprecatePatch` the marker, once no run from
 * before the marker is open: the SDK sets `TemporalChangeVersion` on every run that took the
 * playbook, so `temporal workflow count --query "WorkflowType = 'redemptionWorkflow' AND
 * ExecutionStatus = 'Running' AND TemporalChangeVersion IS NULL"` must say 0.
 */

/** Postgres steps: short, retried with backoff; business failures end the redemption at once. */
const ledger = proxyActivities<RedemptionActivities & InventoryActivities>(postgresStep);

/** Partner calls by program policy; `untilDone` (undoing a call) retries until it answers. */
const partnersFor = (retry: RedemptionPlan['partnerRetry'], untilDone = false) =>
  proxyActivities<WarehouseActivities & GiftCardActivities>(
    untilDone ? partnerUndo(retry) : partnerCall(retry),
  );

/**
 * One redemption (`redemption:<redemptionId>`): check eligibility, hold the points, reserve the
 * stock (or take a coupon code, or issue the gift card), ship with the tier's priority, wait for
 * delivery under the SLA, and turn the hold into the redemption. Any failure, or a cancellation
 * before the parcel leaves the warehouse, undoes what was done in reverse order and says why.
 */
export async function legacyRedemption(input: RedemptionWorkflowInput): Promise<RedemptionState> {
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
  /** What to undo if it fails, newest last; `run` answering false: there was nothing to undo. */
  const undo: { what: string; run: () => Promise<boolean | void> }[] = [];

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
    if (event.trackingNumber) state.shipment ??= { trackingNumber: event.trackingNumber };
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

  /**
   * Waits for the delivery callback. Past the SLA, the tier's service-recovery credit (once);
   * past `lostAfter` from shipping, the parcel is lost: the points go back (the stock has left).
   */
  const untilDelivered = async (plan: RedemptionPlan, trackingNumber: string | null) => {
    const shippedAt = Date.now();
    if (await condition(() => delivered, Math.min(plan.deliverySlaMs, plan.lostAfterMs))) return;
    if (plan.deliverySlaMs < plan.lostAfterMs) {
      state.slaBreached = true;
      const credit = await ledger.creditServiceRecovery({ ...ids, tier: plan.tier });
      await record(null, 'sla_breached', { slaMs: plan.deliverySlaMs, credited: credit.points });
      const left = plan.lostAfterMs - (Date.now() - shippedAt);
      if (await condition(() => delivered, Math.max(1, left))) return;
    }
    undo.push({ what: 'points released', run: () => ledger.releasePoints(ids) });
    const within = humanDuration(plan.lostAfterMs);
    throw new Lost(
      `shipped (tracking ${trackingNumber ?? 'unknown'}) and not delivered within ${within}: lost, the points are given back`,
    );
  };

  /**
   * Asks the warehouse for the shipment. If the retries run out, the warehouse may have taken it
   * all the same (only its answers were lost), so it is asked to drop it before anything is given
   * back: cancelling is idempotent by the redemption id, and harmless for a shipment it never
   * had. If it answers that the parcel has left, nothing is given back: it goes on as shipped.
   */
  const requestShipment = async (plan: RedemptionPlan, sku: string): Promise<void> => {
    const request = { ...ids, sku, quantity: input.quantity, priority: plan.priority };
    try {
      const accepted = await partnersFor(plan.partnerRetry).createShipment(request);
      state.shipment = { trackingNumber: accepted.trackingNumber };
    } catch (err) {
      if (answeredNo(err)) throw err;
      await record(null, 'shipment_unconfirmed', { reason: describe(err) });
      const dropped = await partnersFor(plan.partnerRetry, true).cancelShipment(ids);
      if (dropped.cancelled) throw err;
      shipped = noReturn = true; // a cancel is refused from here on
      await record(null, 'shipment_confirmed', {
        reason: 'no answer, but the warehouse had the shipment and it has left: it goes on',
      });
    }
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
    const undoing = partnersFor(plan.partnerRetry, true);
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
      // Before the call: whatever happens to it, a failure from here on cancels at the warehouse.
      undo.push({
        what: 'shipment cancelled',
        run: async () => (await undoing.cancelShipment(ids)).found,
      });
      await requestShipment(plan, sku);

      // Until the parcel leaves, a cancel asks the warehouse to drop it; once shipped, too late.
      while (!shipped) {
        await condition(() => shipped || (cancel !== null && !noReturn));
        if (shipped) break;
        const dropped = await undoing.cancelShipment(ids);
        if (dropped.cancelled) {
          undo.pop(); // done just now
          checkCancelled();
        }
        noReturn = true; // it left meanwhile (the warehouse said so): shipped
        shipped = true;
      }
      committed();
      await ledger.shipStock(ids);
      const trackingNumber = state.shipment?.trackingNumber ?? null;
      await record('shipped', 'shipped', { trackingNumber });
      await untilDelivered(plan, trackingNumber);
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
      const giftCard = plan.giftCard!;
      // Before the call: if the retries run out the provider may have issued the card all the
      // same; voiding by the same key undoes it (and closes the key), and is harmless if not.
      undo.push({
        what: 'gift card voided',
        run: async () => (await undoing.voidGiftCard({ ...ids, ...giftCard })).voided,
      });
      const card = await partners.issueGiftCard({ ...ids, ...giftCard });
      committed();
      state.giftCard = { cardId: card.cardId, code: card.code };
      await record('issued', 'issued', { cardId: card.cardId, floatBalance: card.floatBalance });
    }

    await ledger.redeemPoints(ids);
    await record('completed', 'completed', { points: plan.points });
  } catch (err) {
    // Cancelled in Temporal (an engineer, `temporal workflow cancel`): before the point of no
    // return it undoes what was done, as a cancel through the API does; after it there is nothing
    // to undo, and the hold is left for ops to settle.
    const inTemporal = isCancellation(err);
    if (inTemporal && noReturn) throw err;
    const ending =
      inTemporal || err instanceof Cancelled
        ? 'cancelled'
        : err instanceof Lost
          ? 'lost'
          : 'failed';
    state.reason = inTemporal
      ? 'cancelled: the workflow was cancelled in Temporal'
      : ending === 'cancelled'
        ? `cancelled by ${cancel!.actor}: ${cancel!.reason}`
        : describe(err);
    state.failureType = { cancelled: 'Cancelled', lost: 'Lost', failed: failureType(err) }[ending];
    // Compensation runs even if the workflow itself is being cancelled.
    await CancellationScope.nonCancellable(async () => {
      const undone: string[] = [];
      for (const step of undo.reverse()) {
        if ((await step.run()) !== false) undone.push(step.what);
      }
      await record(ending, ending, {
        reason: state.reason,
        failureType: state.failureType,
        undone,
      });
    });
    if (inTemporal) throw err;
  }
  noReturn = true; // ended: a cancel still waiting is answered (too late, unless cancelled)
  await condition(allHandlersFinished);
  return state;
}
