/**
 * A rule change going into force: scheduled (members told ahead), activated for everyone at the
 * time the launch window allows, or handed to a launch and back; and its what-if attached. Each
 * step a transition of `rule-changes.ts`, with its audit row and programme event in the same
 * transaction.
 */
import type { Db, Trx } from '../infra/db';
import { diffSummary } from '../domain/rule-diff';
import { setGeneralVersion } from '../ledger/releases';
import {
  json,
  RuleChangeConflict,
  staleBecause,
  transition,
  type RuleChangeRow,
  type Step,
} from './rule-changes';

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
    change: async (row, trx) => ({
      ...(await refuseStale(trx, row)),
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

async function refuseStale(trx: Trx, row: RuleChangeRow) {
  const { stale } = await staleBecause(trx, row);
  if (stale)
    throw new RuleChangeConflict(
      `Rule change ${row.id} cannot be scheduled: ${stale}.`,
      'RuleChangeStale',
    );
  return {};
}

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
      const { general: previousVersion, stale } = await staleBecause(trx, row);
      if (stale) {
        // Going into force now would undo what came into force meanwhile: withdrawn instead.
        return { to: 'withdrawn', action: 'withdrawn-stale', details: { stale, previousVersion } };
      }
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

/**
 * A launch takes the approved change over; answers what it rolls out and what the cohort falls
 * back to (the version in force, which must still be the one the change was proposed over).
 */
export async function attachLaunch(
  db: Db,
  id: string,
  step: Step & { launchId: string },
): Promise<{ version: number; baseVersion: number }> {
  const row = await transition(db, id, step, {
    from: ['approved'],
    to: 'launching',
    action: 'launch-attached',
    change: async (row, trx) => {
      const { stale } = await staleBecause(trx, row);
      if (stale) {
        throw new RuleChangeConflict(
          `Rule change ${id} cannot be launched: ${stale}.`,
          'RuleChangeStale',
        );
      }
      return {
        set: { launch_id: step.launchId },
        details: { launchId: step.launchId, baseVersion: row.base_version },
      };
    },
  });
  // Not stale: the version in force for everyone is still the one it was proposed over.
  return { version: row.version!, baseVersion: row.base_version! };
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
