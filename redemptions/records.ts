/**
 * The redemption as Postgres keeps it for ops: the row (written by the API when the redemption is
 * asked for) and its steps (written by the workflow, once each). Each step that a member or partner
 * should hear about is also a program event, in the same transaction (the webhook outbox).
 */
import type { RedemptionStatus, TimelineStep } from '../domain/redemption';
import type { Db } from '../infra/db';

export interface RedemptionRow {
  id: string;
  member_id: string;
  reward_id: string;
  quantity: number;
  backorder: boolean;
  request_hash: string;
  status: RedemptionStatus;
  tier: string | null;
  points: number | null;
  priority: number | null;
  reason: string | null;
  actor: string;
  created_at: Date;
  updated_at: Date;
}

export interface StepRow {
  redemption_id: string;
  seq: number;
  step: TimelineStep['status'];
  detail: Record<string, unknown>;
  at: Date;
}

/** Program events by step; steps not named here are in the timeline only. */
const eventTypes: Partial<Record<TimelineStep['status'], string>> = {
  shipped: 'redemption.shipped',
  delivered: 'redemption.delivered',
  issued: 'redemption.delivered',
  completed: 'redemption.completed',
  failed: 'redemption.failed',
  cancelled: 'redemption.cancelled',
  lost: 'redemption.lost',
  sla_breached: 'redemption.sla_breached',
  returned: 'redemption.returned',
  refunded: 'redemption.refunded',
};

export interface NewRedemption {
  id: string;
  memberId: string;
  rewardId: string;
  quantity: number;
  backorder: boolean;
  requestHash: string;
  actor: string;
}

/**
 * Writes the row and the `redemption.created` event once per id. Answers the row and whether
 * this call created it; a row with the same id for another request is the caller's to refuse.
 */
export async function createRedemption(
  db: Db,
  input: NewRedemption,
): Promise<{ created: boolean; row: RedemptionRow }> {
  return db.transaction(async (trx) => {
    const inserted = await trx<RedemptionRow>('redemptions')
      .insert({
        id: input.id,
        member_id: input.memberId,
        reward_id: input.rewardId,
        quantity: input.quantity,
        backorder: input.backorder,
        request_hash: input.requestHash,
        status: 'requested',
        actor: input.actor,
      })
      .onConflict('id')
      .ignore()
      .returning('*');
    if (inserted[0]) {
      await trx('program_events')
        .insert({
          type: 'redemption.created',
          member_id: input.memberId,
          dedupe_key: `redemption.created:${input.id}`,
          payload: { redemptionId: input.id, rewardId: input.rewardId, quantity: input.quantity },
        })
        .onConflict('dedupe_key')
        .ignore();
      return { created: true, row: inserted[0] };
    }
    const row = await trx<RedemptionRow>('redemptions').where({ id: input.id }).first();
    return { created: false, row: row! };
  });
}

export interface StepInput {
  redemptionId: string;
  memberId: string;
  /** The step's number in the workflow: a retried activity writes nothing twice. */
  seq: number;
  step: TimelineStep;
  /** The status the redemption moves to, if the step changes it. */
  status: RedemptionStatus | null;
  reason: string | null;
}

export async function recordStep(db: Db, input: StepInput): Promise<void> {
  const { step } = input;
  await db.transaction(async (trx) => {
    const inserted = await trx('redemption_steps')
      .insert({
        redemption_id: input.redemptionId,
        seq: input.seq,
        step: step.status,
        detail: JSON.stringify(step.detail ?? {}),
        at: new Date(step.at),
      })
      .onConflict(['redemption_id', 'seq'])
      .ignore()
      .returning('seq');
    if (inserted.length === 0) return;
    const detail = step.detail ?? {};
    if (input.status) {
      await trx('redemptions')
        .where({ id: input.redemptionId })
        .update({
          status: input.status,
          reason: input.reason,
          updated_at: new Date(step.at),
          ...(step.status === 'points_held'
            ? { tier: detail.tier, points: detail.points, priority: detail.priority ?? null }
            : {}),
        });
    }
    const type = eventTypes[step.status];
    if (type) {
      await trx('program_events')
        .insert({
          type,
          member_id: input.memberId,
          dedupe_key: `${type}:${input.redemptionId}:${input.seq}`,
          payload: JSON.stringify({ redemptionId: input.redemptionId, ...detail }),
          occurred_at: new Date(step.at),
        })
        .onConflict('dedupe_key')
        .ignore();
    }
  });
}

export async function findRedemptionRow(db: Db, id: string): Promise<RedemptionRow | undefined> {
  return db<RedemptionRow>('redemptions').where({ id }).first();
}

export async function stepsOf(db: Db, id: string): Promise<StepRow[]> {
  return db<StepRow>('redemption_steps').where({ redemption_id: id }).orderBy('seq');
}

export async function getRedemption(
  db: Db,
  id: string,
): Promise<{ row: RedemptionRow; steps: StepRow[] } | undefined> {
  const row = await findRedemptionRow(db, id);
  return row && { row, steps: await stepsOf(db, id) };
}
