/**
 * Waking a subscription's delivery workflow (`webhook-subscription:<subscriptionId>`), starting
 * it if it is not running: signal-with-start, so the dispatcher, the replay routes and a sweep can
 * all call this without ever running two for one subscription.
 */
import type { Client } from '@temporalio/client';
import type { AppConfig } from '../config';
import type { webhookSubscriptionWorkflow } from '../workflows/webhooks';
import { wakeSubscriptionSignal, workflowIds } from '../workflows/shared';

export async function wakeSubscription(
  client: Client,
  config: Pick<AppConfig, 'TEMPORAL_TASK_QUEUE'>,
  subscriptionId: string,
): Promise<void> {
  await client.workflow.signalWithStart<typeof webhookSubscriptionWorkflow, []>(
    'webhookSubscriptionWorkflow',
    {
      workflowId: workflowIds.webhookSubscription(subscriptionId),
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [{ subscriptionId }],
      signal: wakeSubscriptionSignal,
      signalArgs: [],
    },
  );
}
