/**
 * Redemptions through the API: the request checked (so a refusal is an immediate 4xx naming the
 * field), the row written once per redemption id, and `redemption:<id>` started at most once; every
 * read (the redemption, its timeline, the list) from Postgres only.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WithStartWorkflowOperation,
  type Client,
} from '@temporalio/client';
import type { AppConfig } from '../config';
import { finalStatuses, type ShipTo } from '../domain/redemption';
import type { Db } from '../infra/db';
import { workflowUrl } from '../infra/temporal';
import { planRedemption, refusalOf } from '../redemptions/plan';
import {
  createRedemption,
  findRedemptionRow,
  getRedemption,
  recordReturnVersion,
  redemptionVersions,
  type RedemptionRow,
  type StepRow,
} from '../redemptions/records';
import { ms } from '../domain/program';
import { withinReturnWindow } from '../domain/redemption-ops';
import { settleHold, type SettleInput } from '../redemptions/settle';
import { loadRuleSet } from '../ledger/programs';
import type { redemptionWorkflow } from '../workflows/redemption';
import type { returnWorkflow } from '../workflows/return';
import {
  cancelRedemptionUpdate,
  heldUpdate,
  searchAttributes,
  workflowIds,
  type HeldOutcome,
  type RedemptionState,
} from '../workflows/shared';
import { notFound, Problem } from './problem';

export interface RedemptionDeps {
  db: Db;
  temporal: Client;
  config: AppConfig;
}

export interface RedeemInput {
  redemptionId?: string | undefined;
  memberId: string;
  rewardId: string;
  quantity: number;
  backorder: boolean;
  shipTo?: ShipTo | undefined;
}

/** The redemption id: the client's, else one derived from its Idempotency-Key, else a new one. */
export function redemptionIdFor(
  input: RedeemInput,
  idempotency: { owner: string; key: string } | undefined,
): string {
  if (input.redemptionId) return input.redemptionId;
  if (!idempotency) return randomUUID();
  const hex = createHash('sha256').update(`${idempotency.owner}\n${idempotency.key}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** How the first step ended, as `POST /redemptions` answers it; null when it cannot tell yet. */
export type HoldAnswer = HeldOutcome | null;

/**
 * Writes the row once, then starts `redemption:<id>` with the `held` update (update-with-start,
 * using the running workflow if there is one) and answers once the hold's outcome is known. A run
 * that has ended, one on code from before the update, or one that does not answer within
 * `REDEMPTION_ANSWER_SECONDS` is answered from Postgres.
 */
export async function startRedemption(
  deps: RedemptionDeps,
  input: RedeemInput & { redemptionId: string },
  actor: string,
): Promise<{ created: boolean; row: RedemptionRow; hold: HoldAnswer }> {
  const request = {
    redemptionId: input.redemptionId,
    memberId: input.memberId,
    rewardId: input.rewardId,
    quantity: input.quantity,
    backorder: input.backorder,
    // Only when given: the hash of a request without it stays what it was.
    ...(input.shipTo ? { shipTo: input.shipTo } : {}),
  };
  const requestHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
  // Planned under the member's version now; the row records it: every later step decides under it.
  let ruleVersion: number | undefined;
  if (!(await findRedemptionRow(deps.db, input.redemptionId))) {
    const result = await planRedemption(deps.db, request);
    if ('refused' in result) throw refusalOf(result.refused);
    ruleVersion = result.ruleVersion;
  }
  const { created, row } = await createRedemption(deps.db, {
    id: input.redemptionId,
    memberId: input.memberId,
    rewardId: input.rewardId,
    quantity: input.quantity,
    backorder: input.backorder,
    shipTo: input.shipTo,
    requestHash,
    actor,
    ruleVersion,
  });
  if (row.request_hash !== requestHash) {
    throw new Problem(
      'conflict',
      `Redemption '${input.redemptionId}' was already asked for with other details.`,
      { errors: [{ field: 'redemptionId', message: 'already used for another redemption' }] },
    );
  }
  const answered = await startAndWaitForHold(deps, { ...request, actor: row.actor });
  // Read after the answer: the hold's step and the status it moved to are written by then.
  const found = (await getRedemption(deps.db, row.id))!;
  return { created, row: found.row, hold: answered ?? holdFromRecords(found) };
}

function startOptions(deps: RedemptionDeps, request: Parameters<typeof redemptionWorkflow>[0]) {
  return {
    workflowId: workflowIds.redemption(request.redemptionId),
    taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    args: [request] as [typeof request],
    typedSearchAttributes: [
      { key: searchAttributes.RedemptionStatus, value: 'requested' },
      { key: searchAttributes.MemberId, value: request.memberId },
      { key: searchAttributes.RewardSku, value: request.rewardId },
    ],
  };
}

/**
 * The hold's outcome from the workflow (started now, or the one already running for this id), or
 * null: the run has ended, predates the `held` update, or did not answer in time.
 */
async function startAndWaitForHold(
  deps: RedemptionDeps,
  request: Parameters<typeof redemptionWorkflow>[0],
): Promise<HeldOutcome | null> {
  const operation = new WithStartWorkflowOperation<typeof redemptionWorkflow>(
    'redemptionWorkflow',
    startOptions(deps, request),
  );
  const deadline = Date.now() + deps.config.REDEMPTION_ANSWER_SECONDS * 1000;
  try {
    return await deps.temporal.withDeadline(deadline, () =>
      deps.temporal.workflow.executeUpdateWithStart(heldUpdate, {
        // One update per redemption: a repeated POST gets the recorded answer, adding no history.
        updateId: `held:${request.redemptionId}`,
        startWorkflowOperation: operation,
      }),
    );
  } catch (err) {
    // Ended (a retry of a finished redemption), or the update unknown to a run on older code.
    if (err instanceof WorkflowExecutionAlreadyStartedError) return null;
    if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError) {
      return null;
    }
    // No answer in time: make sure the run exists (a no-op if the start went through).
    await startWorkflow(deps, request);
    return null;
  }
}

/** The hold's outcome as Postgres has it (null while neither held nor ended). */
function holdFromRecords({ row, steps }: { row: RedemptionRow; steps: StepRow[] }): HoldAnswer {
  const held = steps.find((s) => s.step === 'points_held');
  if (held) {
    const { points, tier } = held.detail as { points: number; tier: string };
    return { outcome: 'held', status: row.status, points, tier };
  }
  if (!finalStatuses.includes(row.status)) return null;
  const ending = steps.find((s) => ['failed', 'cancelled', 'lost'].includes(s.step))?.detail;
  return {
    outcome: 'refused',
    status: row.status,
    reason: row.reason ?? row.status,
    failureType: typeof ending?.failureType === 'string' ? ending.failureType : 'Failed',
  };
}

async function startWorkflow(
  deps: RedemptionDeps,
  request: Parameters<typeof redemptionWorkflow>[0],
): Promise<void> {
  try {
    await deps.temporal.workflow.start<typeof redemptionWorkflow>(
      'redemptionWorkflow',
      startOptions(deps, request),
    );
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    throw new Problem(
      'unavailable',
      `Redemption ${request.redemptionId} is saved but its workflow could not be started (Temporal: ${(err as Error).message}). Retry the same request.`,
      { redemptionId: request.redemptionId },
    );
  }
}

export function redemptionView(config: AppConfig, row: RedemptionRow) {
  const workflowId = workflowIds.redemption(row.id);
  return {
    redemptionId: row.id,
    memberId: row.member_id,
    rewardId: row.reward_id,
    quantity: row.quantity,
    backorder: row.backorder,
    status: row.status,
    tier: row.tier,
    points: row.points,
    priority: row.priority,
    reason: row.reason,
    requestedBy: row.actor,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    workflow: { id: workflowId, url: workflowUrl(config, workflowId) },
  };
}

/**
 * The row and timeline from Postgres only: every step is written with its effect (and the status
 * with it), so Postgres has the truth and a read never asks a worker to replay a history.
 */
export async function showRedemption(deps: RedemptionDeps, id: string) {
  const found = await getRedemption(deps.db, id);
  if (!found) throw notFound('redemption', 'id', id);
  const live = await recordedDetails(deps.db, found);
  return {
    found,
    view: {
      ...redemptionView(deps.config, found.row),
      /** What the workflow has decided so far, from the steps it recorded. */
      live: {
        status: live.status,
        failureType: live.failureType,
        shipment: live.shipment,
        giftCard: live.giftCard,
        coupon: live.coupon,
        slaBreached: live.slaBreached,
      },
      timeline: found.steps.map((s) => ({
        step: s.step,
        at: s.at.toISOString(),
        detail: s.detail,
      })),
    },
  };
}

export async function cancelRedemption(
  deps: RedemptionDeps,
  id: string,
  request: { actor: string; reason: string },
) {
  const row = await findRedemptionRow(deps.db, id);
  if (!row) throw notFound('redemption', 'id', id);
  try {
    return await deps.temporal.workflow
      .getHandle(workflowIds.redemption(id))
      .executeUpdate(cancelRedemptionUpdate, { args: [request] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const message = err.cause?.message ?? err.message;
      throw new Problem('conflict', message, {
        errors: [{ field: 'id', message: 'no longer cancellable' }],
      });
    }
    if (err instanceof WorkflowNotFoundError) {
      throw new Problem('conflict', `Redemption ${id} is ${row.status}: too late to cancel.`, {
        errors: [{ field: 'id', message: 'no longer cancellable' }],
      });
    }
    throw err;
  }
}

/**
 * The warehouse has the reward back: starts `return:<id>` once (a repeat is the same return).
 * Only a delivered physical reward, within the program's return window.
 */
export async function returnRedemption(
  deps: RedemptionDeps,
  id: string,
  request: { actor: string; reason: string },
): Promise<void> {
  const found = await getRedemption(deps.db, id);
  if (!found) throw notFound('redemption', 'id', id);
  const { row, steps } = found;
  const refuse = (message: string) =>
    new Problem('conflict', `Redemption ${id} cannot be returned: ${message}.`, {
      errors: [{ field: 'id', message }],
    });
  if (['returned', 'refunded'].includes(row.status)) return; // the same return again
  const delivered = steps.find((s) => s.step === 'delivered');
  if (row.status !== 'completed' || !delivered) {
    throw refuse(`it is ${row.status}${row.status === 'completed' ? ' but was not shipped' : ''}`);
  }
  // The return window is the redemption's terms (its own version's), from its delivery.
  const { ruleVersion } = await redemptionVersions(deps.db, id);
  const { program } = await loadRuleSet(deps.db, ruleVersion);
  if (!withinReturnWindow(delivered.at, ms(program.redemption.returnWindow), new Date())) {
    throw refuse(
      `the return window of ${program.redemption.returnWindow} from delivery (${delivered.at.toISOString()}) has passed`,
    );
  }
  // The refund's timing is the version in force as the return is asked for (recorded once).
  await recordReturnVersion(deps.db, id);
  try {
    await deps.temporal.workflow.start<typeof returnWorkflow>('returnWorkflow', {
      workflowId: workflowIds.return(id),
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      args: [{ redemptionId: id, memberId: row.member_id, ...request }],
      typedSearchAttributes: [
        { key: searchAttributes.RedemptionStatus, value: 'returned' },
        { key: searchAttributes.MemberId, value: row.member_id },
        { key: searchAttributes.RewardSku, value: row.reward_id },
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    throw new Problem(
      'unavailable',
      `The return could not be started (Temporal: ${(err as Error).message}). Retry.`,
    );
  }
}

/**
 * Whether `redemption:<id>` has closed (completed, cancelled, terminated...) or never existed:
 * only then may ops settle what it left held.
 */
export async function workflowClosed(deps: RedemptionDeps, id: string): Promise<boolean> {
  try {
    const { status } = await deps.temporal.workflow
      .getHandle(workflowIds.redemption(id))
      .describe();
    return status.name !== 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return true;
    throw err;
  }
}

/**
 * Ops settle the points a closed workflow left held (spend or release): refused while the
 * workflow runs (it settles them itself) or when no hold is open. A repeat changes nothing.
 */
export async function settleRedemption(
  deps: RedemptionDeps,
  id: string,
  request: Omit<SettleInput, 'redemptionId'>,
): Promise<void> {
  const row = await findRedemptionRow(deps.db, id);
  if (!row) throw notFound('redemption', 'id', id);
  if (!(await workflowClosed(deps, id))) {
    throw new Problem(
      'conflict',
      `Redemption ${id} cannot be settled: its workflow is still running and settles the points itself.`,
      { errors: [{ field: 'id', message: 'the workflow is still running' }] },
    );
  }
  await settleHold(deps.db, { redemptionId: id, ...request });
}

/** What the workflow's query would answer, from the steps it recorded. */
async function recordedDetails(
  db: Db,
  { row, steps }: { row: RedemptionRow; steps: StepRow[] },
): Promise<
  Pick<
    RedemptionState,
    'status' | 'reason' | 'failureType' | 'shipment' | 'giftCard' | 'coupon' | 'slaBreached'
  >
> {
  const detail = (step: string) => steps.find((s) => s.step === step)?.detail;
  const ending = detail('failed') ?? detail('cancelled') ?? detail('lost');
  const card = await db<{ redemption_id: string; card_id: string; code: string; status: string }>(
    'gift_cards',
  )
    .where({ redemption_id: row.id })
    .first('card_id', 'code', 'status');
  const tracking = detail('shipped')?.trackingNumber;
  const coupon = detail('issued')?.coupon;
  return {
    status: row.status,
    reason: row.reason,
    failureType: typeof ending?.failureType === 'string' ? ending.failureType : null,
    shipment: typeof tracking === 'string' ? { trackingNumber: tracking } : null,
    giftCard: card ? { cardId: card.card_id, code: card.code, status: card.status } : null,
    coupon: typeof coupon === 'string' ? { code: coupon } : null,
    slaBreached: steps.some((s) => s.step === 'sla_breached'),
  };
}
