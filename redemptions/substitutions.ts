/**
 * Out-of-stock substitutions as ops see them: what was offered, and who decided what, when and
 * why (the audit). Each change is also a program event, in the same transaction, so the member
 * is told: pending (ops asked), a reminder before the deadline, approved, rejected, timed out.
 */
import type { Db, Trx } from '../infra/db';

export interface Candidate {
  sku: string;
  name: string;
  cashValue: number;
  pointsCost: number;
}

export type SubstitutionStatus =
  'pending' | 'approved' | 'rejected' | 'timed_out' | 'no_candidates';

export interface SubstitutionRow {
  redemption_id: string;
  member_id: string;
  reward_id: string;
  mode: 'auto' | 'approval';
  candidates: Candidate[];
  status: SubstitutionStatus;
  chosen_sku: string | null;
  decided_by: string | null;
  reason: string | null;
  deadline_at: Date | null;
  created_at: Date;
  decided_at: Date | null;
}

async function event(
  trx: Trx,
  type: string,
  row: { redemption_id: string; member_id: string },
  payload: Record<string, unknown>,
  at: Date,
): Promise<void> {
  await trx('program_events')
    .insert({
      type,
      member_id: row.member_id,
      dedupe_key: `${type}:${row.redemption_id}`,
      payload: JSON.stringify({ redemptionId: row.redemption_id, ...payload }),
      occurred_at: at,
    })
    .onConflict('dedupe_key')
    .ignore();
}

/** Opens the substitution once (a repeat changes nothing); `pending` asks ops to decide. */
export async function openSubstitution(
  db: Db,
  input: {
    redemptionId: string;
    memberId: string;
    rewardId: string;
    mode: 'auto' | 'approval';
    candidates: Candidate[];
    deadlineAt: Date | null;
    at: Date;
  },
): Promise<void> {
  await db.transaction(async (trx) => {
    const inserted = await trx('substitutions')
      .insert({
        redemption_id: input.redemptionId,
        member_id: input.memberId,
        reward_id: input.rewardId,
        mode: input.mode,
        candidates: JSON.stringify(input.candidates),
        status: 'pending',
        deadline_at: input.deadlineAt,
        created_at: input.at,
      })
      .onConflict('redemption_id')
      .ignore()
      .returning('redemption_id');
    if (inserted.length && input.mode === 'approval') {
      const row = { redemption_id: input.redemptionId, member_id: input.memberId };
      await event(
        trx,
        'substitution.pending',
        row,
        {
          rewardId: input.rewardId,
          candidates: input.candidates,
          deadlineAt: input.deadlineAt?.toISOString(),
        },
        input.at,
      );
    }
  });
}

/** The reminder before the deadline, once. */
export async function remindSubstitution(db: Db, redemptionId: string, at: Date): Promise<void> {
  await db.transaction(async (trx) => {
    const row = await trx<SubstitutionRow>('substitutions')
      .where({ redemption_id: redemptionId })
      .first();
    if (!row || row.status !== 'pending') return;
    await event(
      trx,
      'substitution.reminder',
      row,
      { deadlineAt: row.deadline_at?.toISOString() },
      at,
    );
  });
}

/** Records the decision once: the first one stands, a repeat of it changes nothing. */
export async function closeSubstitution(
  db: Db,
  input: {
    redemptionId: string;
    status: Exclude<SubstitutionStatus, 'pending'>;
    sku: string | null;
    by: string;
    reason: string;
    at: Date;
  },
): Promise<void> {
  await db.transaction(async (trx) => {
    const [row] = await trx<SubstitutionRow>('substitutions')
      .where({ redemption_id: input.redemptionId, status: 'pending' })
      .update({
        status: input.status,
        chosen_sku: input.sku,
        decided_by: input.by,
        reason: input.reason,
        decided_at: input.at,
      })
      .returning('*');
    if (!row) return;
    const type =
      input.status === 'no_candidates' ? 'substitution.rejected' : `substitution.${input.status}`;
    await event(
      trx,
      type,
      row,
      {
        rewardId: row.reward_id,
        sku: input.sku,
        decidedBy: input.by,
        reason: input.reason,
      },
      input.at,
    );
  });
}

export async function getSubstitution(db: Db, redemptionId: string) {
  return db<SubstitutionRow>('substitutions').where({ redemption_id: redemptionId }).first();
}

/** Oldest first, so what is closest to its deadline is on top. */
export async function listSubstitutions(
  db: Db,
  filter: { status?: SubstitutionStatus | undefined; limit: number },
): Promise<SubstitutionRow[]> {
  const query = db<SubstitutionRow>('substitutions')
    .orderBy([{ column: 'created_at' }, { column: 'redemption_id' }])
    .limit(filter.limit);
  if (filter.status) void query.where({ status: filter.status });
  return query;
}

/** What each candidate of these substitutions has in stock now (available units), by SKU. */
export async function candidateStock(
  db: Db,
  rows: SubstitutionRow[],
): Promise<Map<string, number>> {
  const skus = [...new Set(rows.flatMap((row) => row.candidates.map((c) => c.sku)))];
  if (skus.length === 0) return new Map();
  const stock = await db('inventory')
    .whereIn('sku', skus)
    .select<{ sku: string; available: number }[]>('sku', 'available');
  return new Map(stock.map((s) => [s.sku, s.available]));
}

/** Whether `row` already holds this very decision (a repeated request): nothing to do again. */
export function alreadyDecided(
  row: SubstitutionRow,
  decision: { approve: boolean; sku?: string; actor: string; reason: string },
): boolean {
  return (
    row.status === (decision.approve ? 'approved' : 'rejected') &&
    (!decision.approve || row.chosen_sku === decision.sku) &&
    row.decided_by === decision.actor &&
    row.reason === decision.reason
  );
}
