/**
 * The `simulations` rows: a what-if's input, its progress while it runs and its result once done,
 * each transition audited in the same transaction. The replay itself is `simulation-page.ts`.
 */
import type { Db, Trx } from '../infra/db';
import type { SimulationResult } from '../domain/simulation';
import { recordAudit } from './audit';

export type SimulationState = 'running' | 'completed' | 'failed';

export interface SimulationRow {
  id: string;
  change_id: string | null;
  state: SimulationState;
  program: unknown;
  base_version: number | null;
  window_from: Date;
  window_to: Date;
  total: number;
  processed: number;
  result: SimulationResult | null;
  error: string | null;
  created_by: string;
  created_at: Date;
  completed_at: Date | null;
}

export interface NewSimulation {
  id: string;
  changeId?: string | null | undefined;
  program: unknown;
  baseVersion?: number | null | undefined;
  window: { from: string; to: string };
  createdBy: string;
}

/**
 * Records a simulation as running, with the number of events in its window; a second call with the
 * same id (the API, then the workflow's first step) finds the first one's row.
 */
export async function createSimulation(db: Db, sim: NewSimulation): Promise<SimulationRow> {
  return db.transaction(async (trx) => {
    const { rows } = await trx.raw<{ rows: SimulationRow[] }>(
      `INSERT INTO simulations (id, change_id, program, base_version, window_from, window_to, total,
         created_by)
       SELECT :id, :changeId, :program::jsonb, :baseVersion, :from, :to, count(*), :createdBy
       FROM ledger_events WHERE occurred_at >= :from AND occurred_at < :to
       ON CONFLICT (id) DO NOTHING RETURNING *`,
      {
        id: sim.id,
        changeId: sim.changeId ?? null,
        program: JSON.stringify(sim.program),
        baseVersion: sim.baseVersion ?? null,
        from: sim.window.from,
        to: sim.window.to,
        createdBy: sim.createdBy,
      },
    );
    const created = rows[0];
    if (!created) return (await findSimulation(trx, sim.id))!;
    await recordAudit(trx, {
      subject: 'simulation',
      subjectId: sim.id,
      action: 'start',
      to: 'running',
      actor: sim.createdBy,
      details: { changeId: sim.changeId ?? null, window: sim.window, events: created.total },
    });
    return created;
  });
}

export async function findSimulation(db: Db | Trx, id: string): Promise<SimulationRow | undefined> {
  return db<SimulationRow>('simulations').where({ id }).first();
}

/**
 * Progress as an absolute count that only grows: a page retried writes the same number again, and
 * pages running side by side each write what they know.
 */
export async function recordProgress(db: Db, id: string, processed: number): Promise<void> {
  await db.raw(
    `UPDATE simulations SET processed = greatest(processed, ?) WHERE id = ? AND state = 'running'`,
    [processed, id],
  );
}

export async function completeSimulation(
  db: Db,
  id: string,
  result: SimulationResult,
  actor: string,
): Promise<void> {
  await db.transaction(async (trx) => {
    const changed = await trx('simulations')
      .where({ id, state: 'running' })
      .update({
        state: 'completed',
        result: JSON.stringify(result),
        processed: result.events,
        completed_at: trx.fn.now(),
      });
    if (changed === 0) return;
    await recordAudit(trx, {
      subject: 'simulation',
      subjectId: id,
      action: 'complete',
      from: 'running',
      to: 'completed',
      actor,
      details: { events: result.events, delta: result.points.delta },
    });
  });
}

export async function failSimulation(
  db: Db,
  id: string,
  error: string,
  actor: string,
): Promise<void> {
  await db.transaction(async (trx) => {
    const changed = await trx('simulations')
      .where({ id, state: 'running' })
      .update({ state: 'failed', error, completed_at: trx.fn.now() });
    if (changed === 0) return;
    await recordAudit(trx, {
      subject: 'simulation',
      subjectId: id,
      action: 'fail',
      from: 'running',
      to: 'failed',
      actor,
      reason: error,
    });
  });
}

/** The programme's size for the figures: members enrolled before the window's end, or active in it. */
export async function programmeMembers(
  db: Db,
  window: { from: string; to: string },
): Promise<number> {
  const { rows } = await db.raw<{ rows: { n: number }[] }>(
    `SELECT count(*)::bigint AS n FROM members m
     WHERE m.enrolled_at < :to OR m.id IN (SELECT member_id FROM ledger_events
       WHERE occurred_at >= :from AND occurred_at < :to)`,
    window,
  );
  return Number(rows[0]?.n ?? 0);
}

/** The API's view of a simulation. */
export const simulationView = (row: SimulationRow) => ({
  id: row.id,
  changeId: row.change_id,
  state: row.state,
  window: { from: row.window_from.toISOString(), to: row.window_to.toISOString() },
  baseVersion: row.base_version,
  progress: { total: row.total, processed: row.processed },
  result: row.result,
  error: row.error,
  createdBy: row.created_by,
  createdAt: row.created_at.toISOString(),
  completedAt: row.completed_at?.toISOString() ?? null,
});
