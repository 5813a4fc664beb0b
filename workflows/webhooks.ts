import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/webhooks';
import { postgresStep, webhookAttempt } from './activity-profiles';

/** Dispatching is a few quick statements; an attempt heartbeats while it waits on the partner. */
const webhooks = proxyActivities<WebhookActivities>(postgresStep);
const attempts = proxyActivities<WebhookActivities>(webhookAttempt);

/** Marks dispatcher runs that pause briefly once caught up (older histories replay without). */
const gatherPatch = 'dispatcher-gathers-when-caught-up';

/**
 * The outbox dispatcher (`webhook-dispatcher:<taskQueue>`, one per worker task queue): claims new
 * program events into deliveries and starts a workflow per delivery, then sleeps `pollMs` when
 * there was nothing new. Everything it does is idempotent, so a crash loses and repeats nothing.
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

/**
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
