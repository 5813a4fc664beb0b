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
import { generalVersion, publishVersion, setGeneralVersion } from '../ledger/releases';
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
  readonly type = 'RuleChangeConflict';
  constructor(message: string) {
    super(message);
    this.name = 'RuleChangeConflict';
  }
}

const json = (value: unknown) => JSON.stringify(value) as unknown as never;

export async function getRuleChange(db: Db | Trx, id: string): Promise<RuleChangeRow | undefined> {
  return db<RuleChangeRow>('rule_changes').where({ id }).first();
}

export async function listRuleChanges(
  db: Db,
  filter: { state?: RuleChangeState | undefined; limit: number },
): Promise<RuleChangeRow[]> {
  const query = db<RuleChangeRow>('rule_changes').orderBy('created_at', 'desc').limit(filter.limit);
  if (filter.state) void query.where({ state: filter.state });
  return query;
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

async function transition(db: Db, id: string, step: Step, t: Transition): Promise<RuleChangeRow> {
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

export const scheduleRuleChange = (
  db: Db,
  id: string,
  step: Step & {
    askedFor: string;
    activateAt: string;
    noticeAt: string;
    movedBecause: string | null;
  },
) =>
  transition(db, id, step, {
    from: ['approved', 'scheduled'],
    to: 'scheduled',
    action: 'scheduled',
    change: () => ({
      set: {
        activate_at: new Date(step.activateAt),
        notice_at: new Date(step.noticeAt),
        slot_moved_because: step.movedBecause,
      },
      details: {
        askedFor: step.askedFor,
        activateAt: step.activateAt,
        noticeAt: step.noticeAt,
        movedBecause: step.movedBecause,
      },
    }),
  });

async function programEvent(trx: Trx, type: string, key: string, payload: object, at: Date) {
  await trx.raw(
    `INSERT INTO program_events (type, member_id, dedupe_key, payload, occurred_at)
     VALUES (?, NULL, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
    [type, key, JSON.stringify(payload), at],
  );
}

/** Members are told ahead: a `program.rules_changing` programme event. */
export const announceRuleChange = (db: Db, id: string, step: Step & { at: string }) =>
  transition(db, id, step, {
    from: ['scheduled'],
    action: 'members-notified',
    change: async (row, trx) => {
      const payload = {
        changeId: id,
        version: row.version,
        activateAt: row.activate_at!.toISOString(),
        summary: diffSummary(row.diff),
      };
      await programEvent(
        trx,
        'program.rules_changing',
        `${step.step}:${id}`,
        payload,
        new Date(step.at),
      );
      return { details: { event: 'program.rules_changing', activateAt: payload.activateAt } };
    },
  });

/** The activation re-checked against the launch window moved: a new activation time. */
export const moveActivation = (
  db: Db,
  id: string,
  step: Step & { activateAt: string; movedBecause: string },
) =>
  transition(db, id, step, {
    from: ['scheduled'],
    action: 'slot-moved',
    change: () => ({
      set: { activate_at: new Date(step.activateAt), slot_moved_because: step.movedBecause },
      details: { activateAt: step.activateAt, movedBecause: step.movedBecause },
    }),
  });

/** The version in force for everyone, the change active and `program.rules_changed`, at once. */
export const activateRuleChange = (db: Db, id: string, step: Step & { at: string }) =>
  transition(db, id, step, {
    from: ['scheduled'],
    to: 'active',
    action: 'activated',
    change: async (row, trx) => {
      const previousVersion = await generalVersion(trx);
      await setGeneralVersion(trx, row.version!);
      const payload = {
        changeId: id,
        version: row.version,
        previousVersion,
        summary: diffSummary(row.diff),
      };
      await programEvent(
        trx,
        'program.rules_changed',
        `${step.step}:${id}`,
        payload,
        new Date(step.at),
      );
      return {
        set: { activated_at: new Date(step.at) },
        details: { version: row.version, previousVersion },
      };
    },
  });

/** A launch takes the approved change over; answers what it rolls out and falls back to. */
export async function attachLaunch(
  db: Db,
  id: string,
  step: Step & { launchId: string },
): Promise<{ version: number; baseVersion: number }> {
  let baseVersion = 0;
  const row = await transition(db, id, step, {
    from: ['approved'],
    to: 'launching',
    action: 'launch-attached',
    change: async (_row, trx) => {
      baseVersion = await generalVersion(trx);
      return {
        set: { launch_id: step.launchId },
        details: { launchId: step.launchId, baseVersion },
      };
    },
  });
  return { version: row.version!, baseVersion: baseVersion || (await generalVersion(db)) };
}

/** The launch's end: promoted (active), rolled back, or cancelled (approved again). */
export const endLaunch = (
  db: Db,
  id: string,
  step: Step & { launchId: string; outcome: 'promoted' | 'rolled-back' | 'cancelled'; at: string },
) =>
  transition(db, id, step, {
    from: ['launching'],
    to:
      step.outcome === 'promoted'
        ? 'active'
        : step.outcome === 'rolled-back'
          ? 'rolled-back'
          : 'approved',
    action: `launch-${step.outcome}`,
    change: () => ({
      set:
        step.outcome === 'promoted'
          ? { activated_at: new Date(step.at) }
          : step.outcome === 'cancelled'
            ? { launch_id: null }
            : {},
      details: { launchId: step.launchId, outcome: step.outcome },
    }),
  });

/** The simulation of the current revision: its id and, once done, its result. */
export async function attachSimulation(
  db: Db,
  id: string,
  input: { simulationId: string; revision: number; simulation: { state: string; result: unknown } },
): Promise<void> {
  await db<RuleChangeRow>('rule_changes')
    .where({ id, revision: input.revision })
    .update({
      simulation_id: input.simulationId,
      simulation: json(input.simulation),
      updated_at: db.fn.now(),
    } as never);
}
