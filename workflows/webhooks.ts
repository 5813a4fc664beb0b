import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/webhooks';
import { postgresStep, webhookAttempt, webhookRound } from './activity-profiles';
import { wakeSubscriptionSignal } from './shared';

/** Dispatching is a few quick statements; an attempt heartbeats while it waits on the partner. */
const webhooks = proxyActivities<WebhookActivities>(postgresStep);
const attempts = proxyActivities<WebhookActivities>(webhookAttempt);

const rounds = proxyActivities<WebhookActivities>(webhookRound);

/** Marks dispatcher runs that pause briefly once caught up (older histories replay without). */
const gatherPatch = 'dispatcher-gathers-when-caught-up';

/**
 * The outbox dispatcher (`webhook-dispatcher:<taskQueue>`, one per worker task queue): claims new
 * program events into deliveries and wakes the subscriptions' workflows that were asleep, then
 * sleeps `pollMs` when there was nothing new. Everything it does is idempotent, so a crash loses and repeats nothing.
 */
export async function webhookDispatcherWorkflow(input: { pollMs: number }): Promise<void> {
  for (;;) {
    const { claimed, caughtUp } = await webhooks.dispatchWebhooks();
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof webhookDispatcherWorkflow>(input);
    }
    if (claimed === 0) await sleep(input.pollMs);
    // Caught up with a steady stream: a fifth of the poll interval lets the next events gather,
    // instead of a pass (an activity and a workflow task) for every few events.
    else if (caughtUp && patched(gatherPatch)) await sleep(Math.max(1, input.pollMs / 5));
  }
}

export interface SubscriptionWorkflowInput {
  subscriptionId: string;
  /** Carried over continue-as-new: failed attempts in a row, and whether the circuit is open. */
  streak?: number;
  open?: boolean;
}

/** Rounds per run before continue-as-new: a short history to replay and to read in the UI. */
const roundsPerRun = 500;

/**
 * One subscription's deliveries (`webhook-subscription:<subscriptionId>`, for as long as the
 * subscription exists): rounds of its queue in Postgres, each claiming the due deliveries in
 * batches and recording every attempt and its next time by the retry schedule. Between rounds it
 * sleeps until woken (the dispatcher made deliveries) or its next retry is due. An endpoint that
 * keeps failing opens the circuit: only its oldest delivery is tried, by the schedule, until one
 * goes through; so it costs a request per retry wait, whatever the number of events, and the
 * other subscriptions' workflows nothing.
 */
export async function webhookSubscriptionWorkflow(input: SubscriptionWorkflowInput): Promise<void> {
  let woken = false;
  setHandler(wakeSubscriptionSignal, () => void (woken = true));
  let streak = input.streak ?? 0;
  let open = input.open ?? false;
  for (let round = 1; ; round++) {
    woken = false;
    const result = await rounds.deliverDue({
      subscriptionId: input.subscriptionId,
      probe: open,
      streak,
    });
    streak = result.streak;
    open = result.state === 'open';
    if (result.state === 'open') {
      // New events do not wake it: the oldest delivery's retry time does.
      if (result.dueInMs !== null) await sleep(Math.max(1, result.dueInMs));
      else open = false;
    } else if (result.state === 'idle') {
      if (result.dueInMs === null) await condition(() => woken);
      else await condition(() => woken, Math.max(1, result.dueInMs));
    }
    if (workflowInfo().continueAsNewSuggested || round >= roundsPerRun) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof webhookSubscriptionWorkflow>({
        subscriptionId: input.subscriptionId,
        streak,
        open,
      });
    }
  }
}

/**
 * Before issue #12, each delivery had a workflow of its own; runs already started finish here
 * (the type stays registered), new deliveries are queued.
 *
 * One event to one subscription (`webhook:<subscriptionId>:<eventId>`): an attempt now, then one
 * after each wait of the schedule (durable timers, about three days by default) until a 2xx. A
 * 410 disables the subscription; so does failing through the whole schedule. The webhook-id is
 * the same on every attempt, so the partner can tell a retry from a new event.
 */
export async function webhookDeliveryWorkflow(input: {
  deliveryId: number;
  scheduleMs: number[];
}): Promise<'delivered' | 'stopped'> {
  const total = input.scheduleMs.length + 1;
  for (let attempt = 1; attempt <= total; attempt++) {
    const last = attempt === total;
    const nextDelayMs = last ? 0 : input.scheduleMs[attempt - 1]!;
    const outcome = await attempts.attemptWebhook({
      deliveryId: input.deliveryId,
      attempt,
      last,
      nextDelayMs,
    });
    if (outcome === 'delivered') return 'delivered';
    if (outcome === 'stop') return 'stopped';
    await sleep(nextDelayMs);
  }
  return 'stopped';
}
