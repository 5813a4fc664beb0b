import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { AppConfig } from '../config';
import type { housekeepingWorkflow, HousekeepingInput } from '../workflows/housekeeping';
import { workflowIds } from '../workflows/shared';

/**
 * Makes sure the task queue's housekeeping Schedule exists with this configuration: created the
 * first time, updated (interval, retention, batch size) by every worker that starts after. Runs
 * never overlap; runs missed while the server was down are caught up (within a day).
 */
export async function ensureHousekeepingSchedule(client: Client, config: AppConfig): Promise<void> {
  const scheduleId = workflowIds.housekeeping(config.TEMPORAL_TASK_QUEUE);
  const input: HousekeepingInput = {
    idempotencyKeyTtlHours: config.IDEMPOTENCY_KEY_TTL_HOURS,
    inboundWebhookRetentionHours: config.INBOUND_WEBHOOK_RETENTION_HOURS,
    batchSize: config.HOUSEKEEPING_BATCH_SIZE,
  };
  const spec = { intervals: [{ every: `${config.HOUSEKEEPING_EVERY_MINUTES} minutes` }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'housekeepingWorkflow',
    workflowId: scheduleId,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    args: [input] as Parameters<typeof housekeepingWorkflow>,
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule
      .getHandle(scheduleId)
      .update((previous) => ({ ...previous, spec, action }));
  }
}
