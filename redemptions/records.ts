/**
 * The redemption as Postgres keeps it for ops: the row (written by the API when the redemption is
 * asked for) and its steps (written by the workflow, once each). Each step that a member or partner
 * should hear about is also a program event, in the same transaction (the webhook outbox).
 */
import type { RedemptionStatus, ShipTo, TimelineStep } from '../domain/redemption';
import type { Db, Trx } from '../infra/db';
import { addressKey } from './ship-to';

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
  /** The program version it is decided under (null: asked for before versions were recorded). */
  rule_version: number | null;
  /** The program version in force when its return was asked for. */
  return_rule_version: number | null;
  created_at: Date;
  updated_at: Date;
  /** The transaction that last changed the row (xid8, as text): the queue's change feed. */
  change_txid: string;
}

export interface StepRow {
  redemption_id: string;
  seq: number;
  step: TimelineStep['status'];
  detail: Record<string, unknown>;
  at: Date;
}

/**
 * The Postgres channel told of each step written, `{ redemptionId, seq }`, and of each redemption
 * asked for, `{ redemptionId }`.
 */
export const stepChannel = 'redemption_steps';

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
  in_review: 'redemption.held_for_review',
  review_reminded: 'redemption.review_reminder',
  review_decided: 'redemption.review_decided',
  returned: 'redemption.returned',
  refunded: 'redemption.refunded',
  settled: 'redemption.settled',
  delivered_after_lost: 'redemption.delivered_after_lost',
};

export interface NewRedemption {
  id: string;
  memberId: string;
  rewardId: string;
  quantity: number;
  backorder: boolean;
  shipTo?: ShipTo | undefined;
  requestHash: string;
  actor: string;
  /** The version its eligibility was planned under; by default the member's version now. */
  ruleVersion?: number | undefined;
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
        ...(input.shipTo
          ? { ship_to: input.shipTo as never, ship_address_key: addressKey(input.shipTo) }
          : {}),
        request_hash: input.requestHash,
        status: 'requested',
        actor: input.actor,
        rule_version: trx.raw('coalesce(?::int, loyalty_rule_version(?::uuid))', [
          input.ruleVersion ?? null,
          input.memberId,
        ]) as never,
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
      // For the queue's event streams: a new row (sent on commit, like the steps').
      await trx.raw('SELECT pg_notify(?, ?)', [
        stepChannel,
        JSON.stringify({ redemptionId: input.id }),
      ]);
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

/** Answers whether this call recorded the step (false: it was recorded before). */
export async function recordStep(db: Db, input: StepInput): Promise<boolean> {
  return db.transaction((trx) => writeStep(trx, input));
}

/**
 * Does `effect` and writes the steps that describe it in one transaction, so Postgres never has
 * the one without the other. `steps` sees the effect's answer (a step may name what it decided:
 * the coupon code, the credit) and may answer none (nothing was done: out of stock). Answers the
 * effect's answer and the steps this call wrote (none when a retry finds them written).
 */
export async function withSteps<T>(
  db: Db,
  effect: (trx: Trx) => Promise<T>,
  steps: (result: T) => StepInput[],
): Promise<{ result: T; written: StepInput[] }> {
  return db.transaction(async (trx) => {
    const result = await effect(trx);
    const written: StepInput[] = [];
    for (const step of steps(result)) if (await writeStep(trx, step)) written.push(step);
    return { result, written };
  });
}

/**
 * Writes a step once (by the redemption and the step's number), moves the redemption's status
 * if the step changes it, writes the program event of a step members or partners hear about, and
 * notifies `stepChannel` (sent when the transaction commits).
 */
async function writeStep(trx: Trx, input: StepInput): Promise<boolean> {
  const { step } = input;
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
  if (inserted.length === 0) return false;
  const detail = step.detail ?? {};
  // Every step touches the row, its status or not: its trigger marks the change for the queue's
  // feed (a step may change what the queue shows without a status: shipped at, SLA breached).
  await trx('redemptions')
    .where({ id: input.redemptionId })
    .update(
      input.status
        ? {
            status: input.status,
            reason: input.reason,
            updated_at: new Date(step.at),
            ...(step.status === 'points_held'
              ? { tier: detail.tier, points: detail.points, priority: detail.priority ?? null }
              : {}),
          }
        : { change_txid: trx.raw('pg_current_xact_id()') },
    );
  // Delivered on commit, so listeners (the API's event streams) never hear of a step rolled back.
  await trx.raw('SELECT pg_notify(?, ?)', [
    stepChannel,
    JSON.stringify({ redemptionId: input.redemptionId, seq: input.seq }),
  ]);
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
  return true;
}

/**
 * Records, once, the version in force for the member as its return is asked for (a repeat keeps
 * the first); answers it.
 */
export async function recordReturnVersion(db: Db, id: string): Promise<number | null> {
  const [row] = await db<RedemptionRow>('redemptions')
    .where({ id })
    .update({
      return_rule_version: db.raw('coalesce(return_rule_version, loyalty_rule_version(member_id))'),
    } as never)
    .returning('return_rule_version');
  return row?.return_rule_version ?? null;
}

/**
 * The versions a redemption's steps decide under: the redemption's own, and its return's (null
 * until asked for); a redemption or return from before versions were recorded: the general one.
 */
export async function redemptionVersions(
  db: Db,
  id: string,
): Promise<{ ruleVersion: number; returnRuleVersion: number }> {
  const { rows } = await db.raw<{ rows: { rule: number; ret: number }[] }>(
    `SELECT coalesce(r.rule_version, p.general_version) AS rule,
       coalesce(r.return_rule_version, p.general_version) AS ret
     FROM program_release p LEFT JOIN redemptions r ON r.id = ? WHERE p.id = 1`,
    [id],
  );
  const row = rows[0];
  if (!row) throw new Error('no program release: run the migrations');
  return { ruleVersion: row.rule, returnRuleVersion: row.ret };
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
