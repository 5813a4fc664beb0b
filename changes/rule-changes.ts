/**
 * Rule changes in Postgres (`rule_changes`): every transition and its audit row in one
 * transaction. The `rule-change:<id>` workflow decides; these steps record. Each step carries a
 * `step` key the workflow makes (kept in the audit row's details), so an activity retried after a
 * commit it never heard of finds its own audit row and changes nothing twice.
 */
import type { Db, Trx } from '../infra/db';
import { programSchema, type Program } from '../domain/program';
import { diffPrograms, diffSummary, type DiffEntry } from '../domain/rule-diff';
import { loadRuleSet } from '../ledger/programs';
import { generalVersion, publishVersion } from '../ledger/releases';
import type { RuleChangeState } from '../workflows/shared';
import { recordAudit } from './audit';

export interface Approval {
  actor: string;
  reason: string;
  at: string;
}

export interface RuleChangeRow {
  id: string;
  state: RuleChangeState;
  description: string | null;
  program: Program;
  base_version: number | null;
  version: number | null;
  revision: number;
  proposed_by: string | null;
  approvals: Approval[];
  approvals_required: number;
  rejection: { actor: string; reason: string; at: string } | null;
  diff: DiffEntry[];
  simulation_id: string | null;
  simulation: { state: string; result: unknown } | null;
  activate_at: Date | null;
  notice_at: Date | null;
  slot_moved_because: string | null;
  activated_at: Date | null;
  launch_id: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

/** The row is not as the workflow expected (another writer, or a bug): not worth retrying. */
export class RuleChangeConflict extends Error {
  constructor(
    message: string,
    /** `RuleChangeStale`: the rules in force are no longer those the change was proposed over. */
    readonly type: 'RuleChangeConflict' | 'RuleChangeStale' = 'RuleChangeConflict',
  ) {
    super(message);
    this.name = 'RuleChangeConflict';
  }
}

/**
 * The general version now (locked until the transaction ends), and why the change may not go
 * into force over it: a change proposed over version 5 would silently undo version 7.
 */
export async function staleBecause(trx: Trx, row: RuleChangeRow) {
  const { rows } = await trx.raw<{ rows: { general_version: number }[] }>(
    'SELECT general_version FROM program_release WHERE id = 1 FOR UPDATE',
  );
  const general = rows[0]!.general_version;
  const stale =
    general === row.base_version
      ? null
      : `the rules in force changed since it was proposed (version ${row.base_version} then, ${general} now): propose it again over them`;
  return { general, stale };
}

/** A value for a jsonb column (knex would send an array as a Postgres array). */
export const json = (value: unknown) => JSON.stringify(value) as unknown as never;

export async function getRuleChange(db: Db | Trx, id: string): Promise<RuleChangeRow | undefined> {
  return db<RuleChangeRow>('rule_changes').where({ id }).first();
}

/** A change as shown: with its what-if's progress (`simulations`) while that runs. */
export interface RuleChangeShown extends RuleChangeRow {
  simulation_total: number | null;
  simulation_processed: number | null;
}

const shown = (db: Db) =>
  db<RuleChangeShown>('rule_changes as c')
    .leftJoin('simulations as s', 's.id', 'c.simulation_id')
    .select('c.*', { simulation_total: 's.total', simulation_processed: 's.processed' });

export async function showRuleChange(db: Db, id: string): Promise<RuleChangeShown | undefined> {
  const rows = (await shown(db).where('c.id', id)) as RuleChangeShown[];
  return rows[0];
}

export async function listRuleChanges(
  db: Db,
  filter: { state?: RuleChangeState | undefined; limit: number },
): Promise<RuleChangeShown[]> {
  const query = shown(db).orderBy('c.created_at', 'desc').limit(filter.limit);
  if (filter.state) void query.where('c.state', filter.state);
  return (await query) as RuleChangeShown[];
}

/** The difference of `program` against the general version in force now. */
async function diffAgainstGeneral(trx: Trx, program: Program) {
  const base = await loadRuleSet(trx, await generalVersion(trx));
  return { baseVersion: base.version, diff: diffPrograms(base.program, program) };
}

export interface Step {
  /** The workflow's key for this step (idempotence under retries). */
  step: string;
  actor: string;
  reason?: string | null | undefined;
}

interface Transition {
  from: RuleChangeState[];
  to?: RuleChangeState;
  action: string;
  /** The fields to change and the audit details, decided under the row lock. */
  change?: (row: RuleChangeRow, trx: Trx) => Decided | Promise<Decided>;
}

interface Decided {
  set?: Partial<Record<keyof RuleChangeRow, unknown>>;
  details?: object;
  /** A state other than `to`, decided under the lock (the last approval). */
  to?: RuleChangeState;
  action?: string;
}

/** One step under the row lock: checked against the state, applied, audited; once per `step`. */
export async function transition(
  db: Db,
  id: string,
  step: Step,
  t: Transition,
): Promise<RuleChangeRow> {
  return db.transaction(async (trx) => {
    const row = await trx<RuleChangeRow>('rule_changes').where({ id }).forUpdate().first();
    if (!row) throw new RuleChangeConflict(`No rule change ${id}.`);
    const done = await trx<{ id: number; subject: string; subject_id: string }>('change_audit')
      .where({ subject: 'rule-change', subject_id: id })
      .whereRaw("details->>'step' = ?", [step.step])
      .first('id');
    if (done) return row;
    if (!t.from.includes(row.state)) {
      throw new RuleChangeConflict(
        `Rule change ${id} is ${row.state}, not ${t.from.join(' or ')}.`,
      );
    }
    const decided = (await t.change?.(row, trx)) ?? {};
    const { set = {}, details = {} } = decided;
    const to = decided.to ?? t.to ?? row.state;
    const [updated] = await trx<RuleChangeRow>('rule_changes')
      .where({ id })
      .update({ ...set, state: to, updated_at: trx.fn.now() } as never)
      .returning('*');
    await recordAudit(trx, {
      subject: 'rule-change',
      subjectId: id,
      action: decided.action ?? t.action,
      from: row.state,
      to,
      actor: step.actor,
      reason: step.reason,
      details: { ...details, step: step.step },
    });
    return updated!;
  });
}

export async function createRuleChange(
  db: Db,
  input: Step & {
    id: string;
    description: string | null;
    program: unknown;
    approvalsRequired: number;
  },
): Promise<RuleChangeRow> {
  const program = programSchema.parse(input.program);
  return db.transaction(async (trx) => {
    const existing = await getRuleChange(trx, input.id);
    if (existing) return existing;
    const { baseVersion, diff } = await diffAgainstGeneral(trx, program);
    const [row] = await trx<RuleChangeRow>('rule_changes')
      .insert({
        id: input.id,
        state: 'draft',
        description: input.description,
        program: json(program),
        base_version: baseVersion,
        approvals_required: input.approvalsRequired,
        diff: json(diff),
        created_by: input.actor,
      })
      .returning('*');
    await recordAudit(trx, {
      subject: 'rule-change',
      subjectId: input.id,
      action: 'created',
      to: 'draft',
      actor: input.actor,
      reason: input.reason,
      details: { step: input.step, baseVersion, changes: diff.length },
    });
    return row!;
  });
}

/** What a step that starts a what-if records: the simulation now running. */
const simulating = (simulationId: string | undefined) =>
  simulationId
    ? { simulation_id: simulationId, simulation: json({ state: 'running', result: null }) }
    : {};

export const proposeRuleChange = (
  db: Db,
  id: string,
  step: Step & { simulationId?: string | undefined },
) =>
  transition(db, id, step, {
    from: ['draft'],
    to: 'proposed',
    action: 'proposed',
    change: async (row, trx) => {
      const { baseVersion, diff } = await diffAgainstGeneral(trx, row.program);
      return {
        set: {
          proposed_by: step.actor,
          base_version: baseVersion,
          diff: json(diff),
          ...simulating(step.simulationId),
        },
        details: { baseVersion, revision: row.revision, summary: diffSummary(diff) },
      };
    },
  });

/** A new program for a draft or proposed change: approvals revoked, re-diffed, next revision. */
export const editRuleChange = (
  db: Db,
  id: string,
  step: Step & {
    description?: string | null | undefined;
    program: unknown;
    /** The what-if a proposed change's edit starts. */
    simulationId?: string | undefined;
  },
) =>
  transition(db, id, step, {
    from: ['draft', 'proposed'],
    action: 'edited',
    change: async (row, trx) => {
      const program = programSchema.parse(step.program);
      const { baseVersion, diff } = await diffAgainstGeneral(trx, program);
      return {
        set: {
          program: json(program),
          ...(step.description !== undefined ? { description: step.description } : {}),
          base_version: baseVersion,
          diff: json(diff),
          revision: row.revision + 1,
          approvals: json([]),
          simulation_id: null,
          simulation: null,
          ...(row.state === 'proposed' ? simulating(step.simulationId) : {}),
        },
        details: {
          revision: row.revision + 1,
          revokedApprovals: row.approvals.map((a) => a.actor),
          summary: diffSummary(diff),
        },
      };
    },
  });

/** One approval; the last one needed publishes the version (not in force yet) in the same go. */
export const approveRuleChange = (db: Db, id: string, step: Step & { at: string }) =>
  transition(db, id, step, {
    from: ['proposed'],
    action: 'approval',
    change: async (row, trx) => {
      if (row.approvals.some((a) => a.actor === step.actor)) {
        throw new RuleChangeConflict(`${step.actor} has already approved rule change ${id}.`);
      }
      const approvals = [...row.approvals, { actor: step.actor, reason: step.reason, at: step.at }];
      if (approvals.length < row.approvals_required) {
        return {
          set: { approvals: json(approvals) },
          details: { approvals: approvals.length, required: row.approvals_required },
        };
      }
      const version = await publishVersion(trx, row.program, {
        createdBy: row.proposed_by ?? row.created_by,
        description: row.description ?? `rule change ${id}`,
      });
      return {
        to: 'approved',
        action: 'approved',
        set: { approvals: json(approvals), version },
        details: { approvals: approvals.length, required: row.approvals_required, version },
      };
    },
  });

export const rejectRuleChange = (db: Db, id: string, step: Step & { at: string }) =>
  transition(db, id, step, {
    from: ['proposed'],
    to: 'rejected',
    action: 'rejected',
    change: () => ({
      set: { rejection: json({ actor: step.actor, reason: step.reason, at: step.at }) },
    }),
  });

export const withdrawRuleChange = (db: Db, id: string, step: Step) =>
  transition(db, id, step, {
    from: ['draft', 'proposed', 'approved', 'scheduled'],
    to: 'withdrawn',
    action: 'withdrawn',
  });
