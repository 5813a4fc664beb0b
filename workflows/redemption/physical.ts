/**
 * A physical reward: reserve the stock (or a substitute, or wait on a backorder), ask the warehouse
 * to ship it with the tier's priority, and wait for delivery under the SLA. Until the parcel leaves
 * a cancel asks the warehouse to drop it; once shipped, there is no way back.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  executeChild,
  patched,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { RedemptionPlan } from '../../domain/redemption';
import { searchAttributes, workflowIds } from '../shared';
import { substitutionWorkflow } from '../substitution';
import { partners, postgres, undoing } from './activities';
import { answeredNo, describe, humanDuration, Lost } from './endings';
import type { RedemptionRun, StepSpec } from './run';

/** Marks runs that upsert `RewardSku` to the substitute once it is reserved. */
export const substituteSkuPatch = 'redemption-substitute-sku-v5';

/** Fulfils; answers the steps still to write with the redemption (`delivered`). */
export async function fulfilPhysical(r: RedemptionRun, plan: RedemptionPlan): Promise<StepSpec[]> {
  const sku = await reserveOrSubstitute(r, plan);
  r.saga.add('stock released', () => postgres.releaseStock(r.ids));
  r.checkCancelled();
  // Before the call: whatever happens to it, a failure from here on cancels at the warehouse.
  r.saga.add('shipment cancelled', async () => {
    return (await undoing(plan.partnerRetry).cancelShipment(r.ids)).found;
  });
  await requestShipment(r, plan, sku);
  await untilShipped(r, plan);
  r.saga.commit();

  const trackingNumber = r.state.shipment?.trackingNumber ?? null;
  const shipped = r.steps(['shipped', { trackingNumber }]);
  await postgres.shipStock({ ...r.ids, steps: shipped });
  r.shown(shipped);
  await untilDelivered(r, plan, trackingNumber);
  return [['delivered']];
}

/**
 * Reserves the reward (and says the shipment is being asked for, in the same transaction), or
 * when it is out of stock: a substitute by the reward's policy (a child workflow decides), else a
 * backorder if the member opted in, else `OutOfStock`. Answers the SKU reserved.
 */
async function reserveOrSubstitute(r: RedemptionRun, plan: RedemptionPlan): Promise<string> {
  const reserve = async (sku: string): Promise<boolean> => {
    const { quantity } = r.input;
    const steps = r.steps(
      ['stock_reserved', { sku, quantity }],
      ['shipment_requested', { priority: plan.priority }],
    );
    const stock = await postgres.reserveStock({ ...r.ids, sku, quantity, steps });
    if (stock.status === 'reserved') r.shown(steps);
    return stock.status === 'reserved';
  };
  if (await reserve(plan.sku)) return plan.sku;
  if (plan.substitution.mode !== 'none') {
    await r.record('substitution_pending', { mode: plan.substitution.mode });
    r.publish();
    const outcome = await untilCancelled(r, (scope) =>
      scope.run(() =>
        executeChild(substitutionWorkflow, {
          workflowId: workflowIds.substitution(r.input.redemptionId),
          args: [
            {
              ...r.ids,
              rewardId: r.input.rewardId,
              quantity: r.input.quantity,
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
      const { sku, by, reason } = outcome;
      await r.record('substituted', { sku, by, reason });
      if (await reserve(sku)) {
        // Temporal's search finds it by what ships, not by what was asked for.
        if (patched(substituteSkuPatch)) {
          upsertSearchAttributes([{ key: searchAttributes.RewardSku, value: sku }]);
        }
        return sku;
      }
    } else {
      await r.record('substitution_declined', { ...outcome });
    }
  }
  if (r.input.backorder) {
    await r.record('backordered', { sku: plan.sku });
    r.publish();
    const giveUpAt = Date.now() + plan.backorder.giveUpAfterMs;
    while (Date.now() < giveUpAt) {
      const wait = Math.max(1, Math.min(plan.backorder.checkEveryMs, giveUpAt - Date.now()));
      await condition(() => r.cancel !== null, wait);
      r.checkCancelled();
      if (await reserve(plan.sku)) return plan.sku;
    }
  }
  throw ApplicationFailure.nonRetryable(
    `${plan.sku} is out of stock${r.input.backorder ? ' for longer than the backorder allows' : ''}.`,
    'OutOfStock',
  );
}

/** Runs `work` in a scope that a cancel request cancels; then throws `Cancelled`. */
async function untilCancelled<T>(
  r: RedemptionRun,
  work: (scope: CancellationScope) => Promise<T>,
): Promise<T> {
  const scope = new CancellationScope();
  const done = work(scope);
  const settled = done.then(
    () => undefined,
    () => undefined,
  );
  await Promise.race([settled, condition(() => r.cancel !== null)]);
  if (r.cancel) {
    scope.cancel();
    await settled;
    r.checkCancelled();
  }
  return done;
}

/**
 * Asks the warehouse for the shipment. If the retries run out, the warehouse may have taken it
 * all the same (only its answers were lost), so it is asked to drop it before anything is given
 * back: cancelling is idempotent by the redemption id, and harmless for a shipment it never
 * had. If it answers that the parcel has left, nothing is given back: it goes on as shipped.
 */
async function requestShipment(r: RedemptionRun, plan: RedemptionPlan, sku: string) {
  const request = { ...r.ids, sku, quantity: r.input.quantity, priority: plan.priority };
  r.publishInFlight();
  try {
    const accepted = await partners(plan.partnerRetry).createShipment(request);
    r.state.shipment = { trackingNumber: accepted.trackingNumber };
  } catch (err) {
    if (answeredNo(err)) throw err;
    await r.record('shipment_unconfirmed', { reason: describe(err) });
    const dropped = await undoing(plan.partnerRetry).cancelShipment(r.ids);
    if (dropped.cancelled) throw err;
    r.shipped = true;
    r.saga.commit(); // a cancel is refused from here on
    await r.record('shipment_confirmed', {
      reason: 'no answer, but the warehouse had the shipment and it has left: it goes on',
    });
  }
}

/** Until the parcel leaves, a cancel asks the warehouse to drop it; once shipped, too late. */
async function untilShipped(r: RedemptionRun, plan: RedemptionPlan) {
  r.publishInFlight();
  while (!r.shipped) {
    await condition(() => r.shipped || (r.cancel !== null && !r.saga.committed));
    if (r.shipped) break;
    const dropped = await undoing(plan.partnerRetry).cancelShipment(r.ids);
    if (dropped.cancelled) {
      r.saga.forget('shipment cancelled'); // done just now
      r.checkCancelled();
    }
    r.saga.commit(); // it left meanwhile (the warehouse said so): shipped
    r.shipped = true;
  }
}

/**
 * Waits for the delivery callback. Past the SLA, the tier's service-recovery credit (once);
 * past `lostAfter` from shipping, the parcel is lost: the points go back (the stock has left).
 */
async function untilDelivered(r: RedemptionRun, plan: RedemptionPlan, tracking: string | null) {
  if (r.delivered) return; // both callbacks came at once: no timer needed
  r.publishInFlight();
  const shippedAt = Date.now();
  if (await deliveredWithin(r, Math.min(plan.deliverySlaMs, plan.lostAfterMs))) return;
  if (plan.deliverySlaMs < plan.lostAfterMs) {
    r.state.slaBreached = true;
    const breached = r.steps(['sla_breached', { slaMs: plan.deliverySlaMs }]);
    const credit = await postgres.creditServiceRecovery({
      ...r.ids,
      tier: plan.tier,
      steps: breached,
    });
    r.shown(breached, { credited: credit.points });
    const left = plan.lostAfterMs - (Date.now() - shippedAt);
    if (await deliveredWithin(r, Math.max(1, left))) return;
  }
  r.saga.add('points released', () => postgres.releasePoints(r.ids));
  const within = humanDuration(plan.lostAfterMs);
  throw new Lost(
    `shipped (tracking ${tracking ?? 'unknown'}) and not delivered within ${within}: lost, the points are given back`,
  );
}

/**
 * Whether the parcel is delivered within `ms`. Unlike `condition(fn, ms)`, the timer is not
 * cancelled when the delivery comes first: it lapses with the run, which ends in the same
 * workflow task, so the usual path has no `TimerCanceled` event.
 */
async function deliveredWithin(r: RedemptionRun, ms: number): Promise<boolean> {
  return Promise.race([sleep(ms).then(() => false), condition(() => r.delivered).then(() => true)]);
}
