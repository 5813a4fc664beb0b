/**
 * Housekeeping (`housekeeping:<taskQueue>`, started by its Schedule of the same id every
 * HOUSEKEEPING_EVERY_MINUTES): forgets idempotency keys past their time to live and partner
 * callback ids past their retention. Deleting is idempotent, so a run cut short loses nothing:
 * the next one finishes it.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { HousekeepingActivities } from '../activities/housekeeping';
import { postgresSweep } from './activity-profiles';

const housekeeping = proxyActivities<HousekeepingActivities>(postgresSweep);

export interface HousekeepingInput {
  idempotencyKeyTtlHours: number;
  inboundWebhookRetentionHours: number;
  batchSize: number;
}

export interface HousekeepingResult {
  idempotencyKeys: number;
  inboundWebhooks: number;
}

export async function housekeepingWorkflow(input: HousekeepingInput): Promise<HousekeepingResult> {
  const [idempotencyKeys, inboundWebhooks] = await Promise.all([
    housekeeping.pruneOldRows({
      table: 'idempotency_keys',
      olderThanHours: input.idempotencyKeyTtlHours,
      batchSize: input.batchSize,
    }),
    housekeeping.pruneOldRows({
      table: 'inbound_webhooks',
      olderThanHours: input.inboundWebhookRetentionHours,
      batchSize: input.batchSize,
    }),
  ]);
  return { idempotencyKeys, inboundWebhooks };
}
