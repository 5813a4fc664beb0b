import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import type { AppConfig } from '../config';
import type { webhookDispatcherWorkflow } from '../workflows/webhooks';
import { workflowIds } from '../workflows/shared';

/** Makes sure the task queue's webhook dispatcher runs (a running one is kept). */
export async function ensureWebhookDispatcher(client: Client, config: AppConfig): Promise<void> {
  await client.workflow.start<typeof webhookDispatcherWorkflow>('webhookDispatcherWorkflow', {
    workflowId: workflowIds.webhookDispatcher(config.TEMPORAL_TASK_QUEUE),
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    args: [{ pollMs: config.WEBHOOK_POLL_MS }],
  });
}
