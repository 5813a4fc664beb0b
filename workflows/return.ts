import {
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { InventoryActivities } from '../activities/inventory';
import type { RedemptionActivities } from '../activities/redemptions';
import { returnSeqBase, type ReturnInput, type RedemptionStatus } from '../domain/redemption';
import { postgresStep } from './activity-profiles';
import { redemptionReturnedSignal, searchAttributes, workflowIds } from './shared';

/** Marks runs that tell `redemption:<id>` once the refund is done. */
export const tellRedemptionPatch = 'return-tells-redemption-v1';

const ledger = proxyActivities<RedemptionActivities & InventoryActivities>(postgresStep);

/**
 * A physical reward sent back (`return:<redemptionId>`), started when the warehouse has it: the
 * stock goes back on the shelf at once, and the points go back to the member after the program's
 * refund delay, shorter for tiers with the `fasterReturns` benefit. Each step happens once.
 */
export async function returnWorkflow(input: ReturnInput): Promise<{ refunded: number }> {
  const ids = { redemptionId: input.redemptionId, memberId: input.memberId };
  let seq = returnSeqBase;
  const record = async (status: RedemptionStatus, detail: Record<string, unknown>) => {
    upsertSearchAttributes([{ key: searchAttributes.RedemptionStatus, value: status }]);
    const step = { status, at: Date.now(), detail };
    await ledger.recordRedemption({ ...ids, seq: ++seq, step, status, reason: input.reason });
  };
  upsertSearchAttributes([{ key: searchAttributes.MemberId, value: input.memberId }]);

  const plan = await ledger.planReturn(ids);
  await ledger.returnStock(ids);
  await record('returned', {
    reason: input.reason,
    by: input.actor,
    refundAfterMs: plan.refundAfterMs,
    fasterReturns: plan.fast,
  });
  await sleep(plan.refundAfterMs);
  await ledger.refundPoints({ ...ids, points: plan.points });
  await record('refunded', { points: plan.points });
  if (patched(tellRedemptionPatch)) {
    try {
      await getExternalWorkflowHandle(workflowIds.redemption(input.redemptionId)).signal(
        redemptionReturnedSignal,
        { status: 'refunded' },
      );
    } catch {
      // Closed (its window ended, or it predates the wait): Postgres has the status already.
    }
  }
  return { refunded: plan.points };
}
