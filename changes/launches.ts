/**
 * Launches in Postgres. Every step of a launch is one transaction: the row's new state and
 * figures, the cohort change it makes (`ledger/releases.ts`), its audit row and its programme event
 * (`launch.<step>`, the webhook outbox). A step carries the workflow's sequence number, so a retried
 * activity finds its event already written and does nothing twice.
 */
import type { Db, Trx } from '../infra/db';
import { recordAudit } from './audit';
import { closeCohort, openCohort, setGeneralVersion } from '../ledger/releases';
import {
  initialSignoffs,
  launchAreas,
  launchedStates,
  type LaunchPlan,
  type LaunchState,
  type Signoff,
} from '../domain/launch-plan';

/** One readiness check's last result, as recorded (the readiness part's `CheckResult`, timed). */
export interface RecordedCheck {
  name: string;
  ok: boolean;
  detail: string;
  observed?: unknown;
  at: string;
}

export interface ChecksRecord {
  results: RecordedCheck[];
  at: string | null;
  passed: boolean;
  deadlineAt: string | null;
  deadlinePassed: boolean;
}

/** The current monitoring window and what it last measured. */
export interface MonitoringRecord {
  stage: number;
  percent: number;
  startedAt: string;
  endsAt: string;
  /** Set while paused: the window's time left, resumed from there. */
  pausedWithMsLeft: number | null;
  measuredAt: string | null;
  figures: unknown;
  verdicts: unknown[];
}

export interface LaunchRow {
  id: string;
  change_id: string;
  state: LaunchState;
  plan: LaunchPlan;
  version: number;
  base_version: number;
  checks: Partial<ChecksRecord>;
  signoffs: Partial<Record<string, Omit<Signoff, 'area'>>>;
  stage: number;
  cohort_percent: number;
  go_live_at: Date | null;
  slot_moved_because: string | null;
  monitoring: MonitoringRecord | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

/** What a step does to the cohort, in its transaction. */
export type CohortEffect =
  | { open: { percent: number; members?: string[] | undefined } }
  | { close: true }
  | { general: true };

export interface LaunchStep {
  launchId: string;
  /** The workflow's step number: the step's identity (dedupe key of its event). */
  seq: number;
  /** Audit action and event type suffix, e.g. `soft_launched` → `launch.soft_launched`. */
  step: string;
  /** The state after the step (unchanged when omitted). */
  to?: LaunchState | undefined;
  actor: string;
  reason?: string | null | undefined;
  details?: Record<string, unknown> | undefined;
  cohort?: CohortEffect | undefined;
  signoff?: Signoff | undefined;
  set?:
    | {
        stage?: number;
        cohortPercent?: number;
        goLiveAt?: string | null;
        slotMovedBecause?: string | null;
        monitoring?: MonitoringRecord | null;
      }
    | undefined;
}

const dedupeKey = (launchId: string, seq: number) => `launch:${launchId}:${seq}`;

async function programEvent(
  trx: Trx,
  row: LaunchRow,
  step: LaunchStep,
  state: LaunchState,
): Promise<boolean> {
  const { rows } = await trx.raw<{ rows: unknown[] }>(
    `INSERT INTO program_events (type, dedupe_key, payload) VALUES (?, ?, ?)
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    [
      `launch.${step.step}`,
      dedupeKey(row.id, step.seq),
      JSON.stringify({
        launchId: row.id,
        changeId: row.change_id,
        name: row.plan.name,
        kind: row.plan.kind,
        state,
        version: row.version,
        baseVersion: row.base_version,
        actor: step.actor,
        reason: step.reason ?? null,
        ...step.details,
      }),
    ],
  );
  return rows.length === 1;
}

/** Writes a new launch (state `preparing`) with its audit row and `launch.created` event. */
export async function createLaunch(
  db: Db,
  launch: { id: string; plan: LaunchPlan; version: number; baseVersion: number; actor: string },
): Promise<LaunchRow> {
  return db.transaction(async (trx) => {
    const signoffs = Object.fromEntries(
      initialSignoffs(launch.plan).map(({ area, ...rest }) => [area, rest]),
    );
    const [row] = await trx<LaunchRow>('launches')
      .insert({
        id: launch.id,
        change_id: launch.plan.changeId,
        state: 'preparing',
        plan: JSON.stringify(launch.plan) as unknown as LaunchPlan,
        version: launch.version,
        base_version: launch.baseVersion,
        signoffs: JSON.stringify(signoffs) as unknown as LaunchRow['signoffs'],
        cohort_percent: 0,
        created_by: launch.actor,
      })
      .returning('*');
    const step: LaunchStep = { launchId: launch.id, seq: 0, step: 'created', actor: launch.actor };
    await programEvent(trx, row!, step, 'preparing');
    await recordAudit(trx, {
      subject: 'launch',
      subjectId: launch.id,
      action: 'created',
      to: 'preparing',
      actor: launch.actor,
      details: { changeId: launch.plan.changeId, version: launch.version },
    });
    return row!;
  });
}

/**
 * One step of a launch, all or nothing: its event (once, by `seq`), the cohort change, the row,
 * the audit row. Answers false when the step had already been applied (a retried activity).
 */
export async function applyLaunchStep(db: Db, step: LaunchStep): Promise<boolean> {
  return db.transaction(async (trx) => {
    const row = await trx<LaunchRow>('launches').where({ id: step.launchId }).forUpdate().first();
    if (!row) throw new Error(`no launch ${step.launchId}`);
    const to = step.to ?? row.state;
    if (!(await programEvent(trx, row, step, to))) return false;
    const effect = step.cohort;
    if (effect && 'open' in effect) {
      await openCohort(trx, {
        launchId: row.id,
        version: row.version,
        percent: effect.open.percent,
        ...(effect.open.members ? { members: effect.open.members } : {}),
      });
    } else if (effect && 'close' in effect) {
      await closeCohort(trx, row.id);
    } else if (effect && 'general' in effect) {
      await setGeneralVersion(trx, row.version);
    }
    const set = step.set ?? {};
    await trx('launches')
      .where({ id: row.id })
      .update({
        state: to,
        ...(set.stage !== undefined ? { stage: set.stage } : {}),
        ...(set.cohortPercent !== undefined ? { cohort_percent: set.cohortPercent } : {}),
        ...(set.goLiveAt !== undefined ? { go_live_at: set.goLiveAt } : {}),
        ...(set.slotMovedBecause !== undefined ? { slot_moved_because: set.slotMovedBecause } : {}),
        ...(set.monitoring !== undefined
          ? { monitoring: set.monitoring && JSON.stringify(set.monitoring) }
          : {}),
        ...(step.signoff
          ? {
              signoffs: trx.raw(`jsonb_set(signoffs, ARRAY[?]::text[], ?::jsonb)`, [
                step.signoff.area,
                JSON.stringify({ ...step.signoff, area: undefined }),
              ]),
            }
          : {}),
        updated_at: trx.fn.now(),
      });
    await recordAudit(trx, {
      subject: 'launch',
      subjectId: row.id,
      action: step.step,
      from: row.state,
      to,
      actor: step.actor,
      reason: step.reason,
      details: step.details,
    });
    return true;
  });
}

/** The readiness checks' last run (no audit row: checks repeat; their outcome is a step). */
export async function recordChecks(db: Db, launchId: string, checks: ChecksRecord): Promise<void> {
  await db('launches')
    .where({ id: launchId })
    .update({ checks: JSON.stringify(checks), updated_at: db.fn.now() });
}

/** The monitoring window's last measurement (a breach is a step of its own). */
export async function recordMonitoring(
  db: Db,
  launchId: string,
  monitoring: MonitoringRecord,
): Promise<void> {
  await db('launches')
    .where({ id: launchId })
    .update({ monitoring: JSON.stringify(monitoring), updated_at: db.fn.now() });
}

export async function getLaunch(db: Db | Trx, id: string): Promise<LaunchRow | undefined> {
  return db<LaunchRow>('launches').where({ id }).first();
}

export async function listLaunches(
  db: Db,
  filter: { state?: LaunchState | undefined; changeId?: string | undefined; limit: number },
): Promise<LaunchRow[]> {
  const query = db<LaunchRow>('launches').orderBy('created_at', 'desc').limit(filter.limit);
  if (filter.state) void query.where({ state: filter.state });
  if (filter.changeId) void query.where({ change_id: filter.changeId });
  return query;
}

/** The API's view of a launch: the console's checklist, sign-offs, cohort, stage and window. */
export function launchView(row: LaunchRow) {
  const checks = row.checks;
  const named = row.plan.cohort.members?.length ?? 0;
  const stages = [row.plan.cohort.percent, ...row.plan.stages];
  return {
    id: row.id,
    changeId: row.change_id,
    name: row.plan.name,
    kind: row.plan.kind,
    state: row.state,
    plan: row.plan,
    checks: {
      results: checks.results ?? [],
      at: checks.at ?? null,
      passed: checks.passed ?? false,
      deadlineAt: checks.deadlineAt ?? null,
      deadlinePassed: checks.deadlinePassed ?? false,
    },
    signoffs: launchAreas.flatMap((area) => {
      const s = row.signoffs[area];
      return s
        ? [{ area, owner: s.owner, signed: s.signed, by: s.by, at: s.at, reason: s.reason }]
        : [];
    }),
    cohort: {
      percent: Number(row.cohort_percent),
      plannedPercent: row.plan.cohort.percent,
      namedCount: named,
      /** Whether the cohort is on the new version now (soft launch to the last stage). */
      inForce: launchedStates.includes(row.state),
      version: row.version,
      previousVersion: row.base_version,
    },
    stage: { index: row.stage, percent: stages[row.stage] ?? null, percents: stages },
    goLiveAt: row.go_live_at?.toISOString() ?? null,
    slotMovedBecause: row.slot_moved_because,
    monitoring: row.monitoring,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
