/**
 * Starting a delivery's workflow: `webhook:<subscriptionId>:<eventId>`, or for a replay
 * `webhook:<subscriptionId>:<eventId>:replay:<deliveryId>`. Starting one that exists keeps it,
 * so the dispatcher and the replay route can both call this without doing a thing twice.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  type Client,
} from '@temporalio/client';
import type { AppConfig } from '../config';
import { parseSchedule } from '../domain/webhooks';
import type { webhookDeliveryWorkflow } from '../workflows/webhooks';
import { workflowIds } from '../workflows/shared';
import type { DeliveryRow } from './deliveries';

const deliveryWorkflowId = (d: DeliveryRow): string => {
  const id = workflowIds.webhook(d.subscription_id, String(d.event_id));
  return d.requested_by === null ? id : `${id}:replay:${d.id}`;
};

/** Answers whether this call started it (false: it was running or ran already). */
export async function startDeliveryWorkflow(
  client: Client,
  config: Pick<AppConfig, 'TEMPORAL_TASK_QUEUE' | 'WEBHOOK_RETRY_SCHEDULE'>,
  delivery: DeliveryRow,
): Promise<boolean> {
  try {
    await client.workflow.start<typeof webhookDeliveryWorkflow>('webhookDeliveryWorkflow', {
      workflowId: deliveryWorkflowId(delivery),
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      args: [{ deliveryId: delivery.id, scheduleMs: parseSchedule(config.WEBHOOK_RETRY_SCHEDULE) }],
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}
