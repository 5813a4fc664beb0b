/**
 * Points budgets (points issued per day and per month) counted in the accrual batch's own
 * transaction, exactly, without one row that every accrual writes.
 *
 * Why escrow: a single counter row updated by every batch would serialise all accrual commits
 * on its row lock (issue #13 wants accrual with budgets within 10 % of without). So the usage of a
 * budget period is spread over `SLOTS` rows (`budget_slots`, by the batch's first member's hash),
 * and each slot may only use what it was granted (`allowance`) from the period row
 * (`budget_periods.granted`, never above the limit). A batch locks only its own slot; it goes to
 * the period row only to refill its slot (a chunk of what is left, shrinking as the budget runs
 * down), which is rare. No slot can use what another was granted, so the sum never passes the
 * limit however many batches run at once.
 *
 * Near the end a slot cannot cover a batch while other slots still hold some: then the batch is
 * undone (`BudgetRetry`) and decided again in `exact` mode, which locks the period row FOR UPDATE
 * (waiting for every escrow batch, which hold it FOR KEY SHARE), sees the true room, and takes
 * back every slot's unused allowance. Only the last few chunks of a budget are decided that way,
 * one batch at a time.
 *
 * The liability ceiling rides on the same gate as one more counter (budgets/liability.ts): its
 * exact mode also rebases it to the outstanding points in the ledger.
 */
import {
  budgetRules,
  periodOf,
  pointsAllowed,
  type BudgetRule,
  type Budgets,
} from '../domain/budgets';
import { constant, type Columns } from '../infra/columns';
import type { Trx } from '../infra/db';
import { BASE_SLOT, rebaseLiability } from './liability';
import { budgetTimeZone, pointCost } from './settings';
import { recordCrossings, unwrittenCrossing } from './warnings';

export const SLOTS = 16;

export type GateMode = 'escrow' | 'exact';

/** The batch must be decided again in exact mode (rolls its transaction back). */
export class BudgetRetry extends Error {
  constructor() {
    super('budget slot too small for the batch: decide again in exact mode');
    this.name = 'BudgetRetry';
  }
}

interface Counter {
  rule: BudgetRule;
  period: string;
  /** Used in the whole period as this transaction saw it at the start. */
  usedBefore: number;
  /** What this batch may still take: its slot's free allowance, or (exact) the true room. */
  room: number;
  taken: number;
}

export interface PointsGate {
  /** What an event may earn of `earned` (after caps), `base` of it base points; counts it. */
  allow(earned: number, base: number): number;
  /** True when a decision needed more than the slot held: throw `BudgetRetry` before writing. */
  readonly needsExact: boolean;
  /**
   * Escrow mode: this batch's use of its slot, for the caller to write in its own statement
   * (`slotUseUpdate`); then `commit` is told so. Null in exact mode or when nothing was taken.
   */
  slotUse(): SlotUse | null;
  /** Writes the counters (and any warning crossed) in the batch's transaction. */
  commit(trx: Trx, now: Date, options?: { slotUseWritten?: boolean }): Promise<void>;
}

/** What one escrow batch took from its slot, per budget. */
export interface SlotUse {
  slot: number;
  budgets: string[];
  periods: string[];
  taken: number[];
}

/** A CTE (`budget_use AS (...)`) adding `use` to its slot rows, and its bindings. */
export const slotUseUpdate = (use: SlotUse) => ({
  cte: `budget_use AS (UPDATE budget_slots s SET used = s.used + t.taken
     FROM unnest(:useBudgets::text[], :usePeriods::text[], :useTaken::bigint[])
       AS t(budget, period, taken)
     WHERE s.budget = t.budget AND s.period = t.period AND s.slot = :useSlot::int)`,
  bindings: {
    useBudgets: use.budgets,
    usePeriods: use.periods,
    useTaken: use.taken,
    useSlot: use.slot,
  },
});

export const slotOf = (memberId: string): number =>
  parseInt(memberId.replace(/-/g, '').slice(0, 8), 16) % SLOTS;

interface PeriodRow {
  budget: string;
  granted: string | number;
  used: string | number;
  based: boolean;
}

interface SlotRow {
  budget: string;
  allowance: string | number;
  used: string | number;
}

/** What the escrow gate opens on: its budgets' period rows and the batch's own slot rows. */
export interface EscrowRead {
  periods: PeriodRow[];
  slots: SlotRow[];
}

const keysOf = (rules: BudgetRule[], now: Date) => {
  const zone = budgetTimeZone();
  const sorted = [...rules].sort((a, b) => a.key.localeCompare(b.key));
  return {
    sorted,
    keys: sorted.map((r) => r.key),
    periods: sorted.map((r) => periodOf(now, r.period, zone)),
  };
};

/** A period row's grant, its slots' use, and whether the liability counter was ever rebased. */
const periodColumns = `p.budget, p.granted,
  (SELECT coalesce(sum(s.used), 0) FROM budget_slots s
   WHERE s.budget = p.budget AND s.period = p.period) AS used,
  EXISTS (SELECT 1 FROM budget_slots s
   WHERE s.budget = p.budget AND s.period = p.period AND s.slot = ${BASE_SLOT}) AS based`;

/**
 * The escrow gate's reads as columns of the batch's first read (infra/columns.ts): the period rows
 * locked FOR KEY SHARE, then (the slot insert reads them, so they are locked first, as in exact
 * mode) the batch's own slot rows upserted and locked. Null without rules. A period row missing
 * (the period's first batch) gets no slot: `openPointsGate` then creates both.
 */
export function escrowReads(
  rules: BudgetRule[],
  slot: number,
  now: Date,
): Columns<EscrowRead | null> {
  if (rules.length === 0) return constant(null);
  const { keys, periods } = keysOf(rules, now);
  return {
    with: [
      `budget_p AS (SELECT ${periodColumns}
         FROM budget_periods p JOIN unnest(:budgetKeys::text[], :budgetPeriods::text[])
           AS k(budget, period) ON p.budget = k.budget AND p.period = k.period
         ORDER BY p.budget FOR KEY SHARE OF p)`,
      `budget_own AS (INSERT INTO budget_slots (budget, period, slot)
         SELECT p.budget, k.period, :budgetSlot::int FROM budget_p p
           JOIN unnest(:budgetKeys::text[], :budgetPeriods::text[]) AS k(budget, period)
           ON k.budget = p.budget
         ORDER BY p.budget
         ON CONFLICT (budget, period, slot) DO UPDATE SET used = budget_slots.used
         RETURNING budget, allowance, used)`,
    ],
    select: [
      `(SELECT coalesce(json_agg(budget_p), '[]') FROM budget_p) AS budget_periods`,
      `(SELECT coalesce(json_agg(budget_own), '[]') FROM budget_own) AS budget_slots`,
    ],
    bindings: { budgetKeys: keys, budgetPeriods: periods, budgetSlot: slot },
    parse: (row) => ({
      periods: row.budget_periods as PeriodRow[],
      slots: row.budget_slots as SlotRow[],
    }),
  };
}

/**
 * Opens the gate for the points budgets `rules` (one per key) on `slot`; null when there are
 * none. Locks the period rows (KEY SHARE in escrow mode, UPDATE in exact mode) and the slot. In
 * escrow mode `read` (`escrowReads`, read with the batch) saves those statements when complete.
 */
export async function openPointsGate(
  trx: Trx,
  rules: BudgetRule[],
  slot: number,
  now: Date,
  mode: GateMode,
  read?: EscrowRead | null,
): Promise<PointsGate | null> {
  if (rules.length === 0) return null;
  const zone = budgetTimeZone();
  const { sorted, keys, periods } = keysOf(rules, now);
  const lock = mode === 'exact' ? 'FOR UPDATE' : 'FOR KEY SHARE';
  const readPeriods = () =>
    trx.raw<{ rows: PeriodRow[] }>(
      `SELECT ${periodColumns}
       FROM budget_periods p JOIN unnest(?::text[], ?::text[]) AS k(budget, period)
         ON p.budget = k.budget AND p.period = k.period
       ORDER BY p.budget ${lock} OF p`,
      [keys, periods],
    );
  const complete = mode === 'escrow' && read && read.periods.length === keys.length;
  let { rows } = complete ? { rows: read.periods } : await readPeriods();
  if (rows.length < keys.length) {
    await trx.raw(
      `INSERT INTO budget_periods (budget, period) SELECT * FROM unnest(?::text[], ?::text[])
       ON CONFLICT DO NOTHING`,
      [keys, periods],
    );
    ({ rows } = await readPeriods());
  }
  const byKey = new Map(rows.map((r) => [r.budget, r]));
  const counters: Counter[] = [];
  // The liability counter counts from its last rebase: never rebased, it must be (exact mode).
  let needsExact =
    mode === 'escrow' && sorted.some((r) => r.kind === 'liability' && !byKey.get(r.key)!.based);

  if (mode === 'exact') {
    for (const [i, rule] of sorted.entries())
      if (rule.kind === 'liability') await rebaseLiability(trx, rule, periods[i]!);
    // Read after the lock, in a statement of its own: the locking statement's snapshot was taken
    // before it waited, so its sums could miss the batches it waited for.
    const { rows: sums } = await trx.raw<{ rows: { budget: string; used: string }[] }>(
      `SELECT k.budget, (SELECT coalesce(sum(s.used), 0) FROM budget_slots s
         WHERE s.budget = k.budget AND s.period = k.period) AS used
       FROM unnest(?::text[], ?::text[]) AS k(budget, period)`,
      [keys, periods],
    );
    const usedNow = new Map(sums.map((r) => [r.budget, Number(r.used)]));
    for (const [i, rule] of sorted.entries()) {
      const used = usedNow.get(rule.key) ?? 0;
      counters.push({
        rule,
        period: periods[i]!,
        usedBefore: used,
        room: rule.limit - used,
        taken: 0,
      });
    }
  } else {
    const slots = complete
      ? read.slots
      : (
          await trx.raw<{ rows: SlotRow[] }>(
            `INSERT INTO budget_slots (budget, period, slot)
             SELECT budget, period, ? FROM unnest(?::text[], ?::text[]) AS k(budget, period)
             ORDER BY budget
             ON CONFLICT (budget, period, slot) DO UPDATE SET used = budget_slots.used
             RETURNING budget, allowance, used`,
            [slot, keys, periods],
          )
        ).rows;
    const own = new Map(slots.map((s) => [s.budget, s]));
    for (const [i, rule] of sorted.entries()) {
      const p = byKey.get(rule.key)!;
      const s = own.get(rule.key)!;
      let free = Number(s.allowance) - Number(s.used);
      const unassigned = rule.limit - Number(p.granted);
      // A chunk of what is left: large while the budget is far from its end, smaller near it.
      const chunk = Math.max(1, Math.ceil(unassigned / (SLOTS * 2)));
      if (free < chunk && unassigned > 0) free += await refill(trx, rule, periods[i]!, slot, chunk);
      counters.push({
        rule,
        period: periods[i]!,
        usedBefore: Number(p.used),
        room: free,
        taken: 0,
      });
    }
  }

  const slotUse = (): SlotUse | null => {
    const taken = counters.filter((c) => c.taken > 0);
    if (mode !== 'escrow' || taken.length === 0) return null;
    return {
      slot,
      budgets: taken.map((c) => c.rule.key),
      periods: taken.map((c) => c.period),
      taken: taken.map((c) => c.taken),
    };
  };
  // Liability warnings are written from the truth (exact mode) only; see budgets/liability.ts.
  const today = periodOf(now, 'day', zone);
  return {
    get needsExact() {
      return needsExact;
    },
    allow(earned, base) {
      let allowed = earned;
      for (const c of counters) {
        const left = c.room - c.taken;
        const cut = pointsAllowed(c.rule.atLimit, allowed, Math.min(base, allowed), left);
        // In escrow mode the slot is not the whole room: a cut (or base points past the slot)
        // may be wrong, so the batch is decided again in exact mode.
        // So is a batch that would take the period past a limit lowered by a newer version
        // (slots may still hold allowance granted under the old one).
        if (
          mode === 'escrow' &&
          (cut < allowed || allowed > left || c.usedBefore + c.taken + allowed > c.rule.limit)
        )
          needsExact = true;
        allowed = cut;
      }
      for (const c of counters) {
        c.taken += allowed;
        if (
          mode === 'escrow' &&
          c.rule.kind === 'liability' &&
          unwrittenCrossing(c.rule, today, c.usedBefore + c.taken)
        )
          needsExact = true;
      }
      return allowed;
    },
    slotUse,
    async commit(trx, now, options = {}) {
      const taken = counters.filter((c) => c.taken > 0);
      if (taken.length === 0) return;
      const args = [
        slot,
        taken.map((c) => c.rule.key),
        taken.map((c) => c.period),
        taken.map((c) => c.taken),
      ];
      if (mode === 'escrow') {
        const use = slotUse();
        if (use && !options.slotUseWritten) {
          const { cte, bindings } = slotUseUpdate(use);
          await trx.raw(`WITH ${cte} SELECT 1`, bindings);
        }
      } else {
        // Every slot's unused allowance back to the period (the true room is known here), this
        // batch's use on its slot, and `granted` = what the slots now hold.
        await trx.raw(
          `WITH t AS (SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[]) AS t(budget, period, taken)),
           reclaimed AS (
             UPDATE budget_slots s SET allowance = s.used FROM t
             WHERE s.budget = t.budget AND s.period = t.period AND s.slot <> ?
             RETURNING s.budget, s.used),
           mine AS (
             INSERT INTO budget_slots (budget, period, slot, allowance, used)
             SELECT budget, period, ?, taken, taken FROM t
             ON CONFLICT (budget, period, slot) DO UPDATE
               SET used = budget_slots.used + excluded.used,
                   allowance = budget_slots.used + excluded.used
             RETURNING budget, used)
           UPDATE budget_periods p SET granted =
             coalesce((SELECT sum(used) FROM reclaimed r WHERE r.budget = p.budget), 0) +
             (SELECT used FROM mine m WHERE m.budget = p.budget)
           FROM t WHERE p.budget = t.budget AND p.period = t.period`,
          [...args.slice(1), slot, slot],
        );
      }
      await recordCrossings(
        trx,
        // The liability ceiling warns once per day and threshold, from the truth (exact mode).
        taken
          .flatMap((c) =>
            c.rule.kind !== 'liability' ? [c] : mode === 'exact' ? [{ ...c, period: today }] : [],
          )
          .map((c) => ({
            rule: c.rule,
            period: c.period,
            // Never above the truth (others' batches in flight are not in it): never warns early.
            used: c.usedBefore + c.taken,
          })),
        now,
      );
    },
  };
}

/** Grants the slot up to `chunk` more from the period's unassigned units; answers how many. */
async function refill(
  trx: Trx,
  rule: BudgetRule,
  period: string,
  slot: number,
  chunk: number,
): Promise<number> {
  const { rows } = await trx.raw<{ rows: { delta: string }[] }>(
    `WITH old AS (
       SELECT granted FROM budget_periods WHERE budget = :budget AND period = :period
       FOR NO KEY UPDATE),
     grant_ AS (
       UPDATE budget_periods p
       SET granted = old.granted + least(:chunk, greatest(0, :limit - old.granted))
       FROM old WHERE p.budget = :budget AND p.period = :period
       RETURNING p.granted - old.granted AS delta)
     UPDATE budget_slots s SET allowance = s.allowance + g.delta FROM grant_ g
     WHERE s.budget = :budget AND s.period = :period AND s.slot = :slot
     RETURNING g.delta`,
    { budget: rule.key, period, slot, chunk, limit: rule.limit },
  );
  return Number(rows[0]?.delta ?? 0);
}

/**
 * The points budgets (and liability ceiling) a batch counts against: those of every programme
 * version in it (a soft launch can have two), the lowest limit where both name one.
 */
export function pointsRules(programs: { budgets?: Budgets | undefined }[]): BudgetRule[] {
  const byKey = new Map<string, BudgetRule>();
  for (const program of programs)
    for (const rule of budgetRules(program.budgets, pointCost()))
      if (
        (rule.kind === 'points' || rule.kind === 'liability') &&
        rule.limit < (byKey.get(rule.key)?.limit ?? Infinity)
      )
        byKey.set(rule.key, rule);
  return [...byKey.values()];
}

/** A batch to decide again in exact mode: a slot too small, or a deadlock on the period rows. */
export const retryExact = (err: unknown): boolean =>
  err instanceof BudgetRetry || (err as { code?: string } | null)?.code === '40P01';
