/**
 * The monitoring window's figures: the launch's cohort since go-live, everyone else over the same
 * period, and the cohort's own baseline before go-live, each set-based in one SQL statement over
 * members, ledger events and entries, and redemptions. Cohort membership is the release's rule
 * (`loyalty_rule_version`): the member's stable bucket for this launch under `percent` * 100, or
 * named in the cohort's list. Judged by `judgeGuards` (domain/guard.ts).
 *
 * Accrual errors: a refused earning event changes nothing and is recorded nowhere (by design: bad
 * input leaves no trace), so what is counted is the failure a launch itself can cause: an earning
 * event recorded, in the period, under another version than the one in force for its member (a
 * cohort member's purchase under the old rules, or another member's under the new). Judged
 * against the release as it is at `at`, so `since` should be the start of the stage being
 * watched. Not measurable before go-live: the baseline's is 0 (said in `notes`).
 * Anomaly alerts: no anomaly detection exists yet; 0, said in `notes`, wired for when one does.
 */
import type { Figures, GuardFigures } from '../domain/guard';
import type { Db } from '../infra/db';
import { releaseState } from '../ledger/releases';

export interface GuardInput {
  launchId: string;
  /** The cohort as the launch has it now: a percentage by stable hash, and/or named members. */
  cohort: { percent: number; members?: string[] | undefined };
  /** ISO: go-live, or the start of the stage being watched. */
  since: string;
  /** ISO: the start of the cohort's baseline; default as long before `since` as `at` is after. */
  baselineFrom?: string | undefined;
  /** ISO: the end of the period; default now. */
  at?: string | undefined;
  /** The simulation's points per active member (`perActiveMember.simulated`). */
  expectedPerActiveMember?: number | null | undefined;
  /**
   * The versions the cohort and the rest should earn under; default the release's: the cohort's
   * version while this launch holds the cohort, and the general version.
   */
  versions?: { cohort: number | null; rest: number } | undefined;
}

interface Row {
  grp: 'cohort' | 'rest' | 'baseline';
  members: number;
  active: number;
  errors: number;
  redemptions: number;
  failures: number;
  issued: number;
  growth: number;
  manual: number;
}

/**
 * Every member's group decided once (the hash is computed only when `percent` leaves it open: 0
 * and 100 fold to constants at plan time); then the rows of [baselineFrom, at) of each source,
 * read by time (BRIN indexes on `created_at`, migration 20261204180500) and hash-joined to their
 * member: `cohort` or `rest` in the window [since, at), `baseline` before it (cohort only).
 */
const groupOf = (alias: string) => `CASE WHEN ${alias}.created_at >= :since
    THEN CASE WHEN g.cohort THEN 'cohort' ELSE 'rest' END WHEN g.cohort THEN 'baseline' END`;

/** Memory for the statement's hashes and sorts (a few MB per 100,000 members). */
const guardWorkMem = '64MB';

export const guardStatement = `
  WITH named AS MATERIALIZED (
    SELECT unnest(:named::uuid[]) AS id
    UNION SELECT member_id FROM release_cohort_members WHERE launch_id = :launchId
  ),
  grp AS MATERIALIZED (
    SELECT m.id, m.enrolled_at < :since AS before_, (:percent::numeric >= 100
        OR (:percent::numeric > 0
          AND loyalty_cohort_bucket(:launchId, m.id::text) < :percent::numeric * 100)
        OR m.id IN (SELECT id FROM named)) AS cohort
    FROM members m WHERE m.enrolled_at < :at
  ),
  members_ AS (
    SELECT count(*) FILTER (WHERE cohort)::bigint AS cohort,
      count(*) FILTER (WHERE NOT cohort)::bigint AS rest,
      count(*) FILTER (WHERE cohort AND before_)::bigint AS baseline
    FROM grp
  ),
  events_ AS (
    SELECT grp, count(DISTINCT member_id)::bigint AS active,
      count(*) FILTER (WHERE grp <> 'baseline' AND type <> 'return' AND expected IS NOT NULL
        AND rule_version <> expected)::bigint AS errors
    FROM (SELECT ev.member_id, ev.type, ev.rule_version, ${groupOf('ev')} AS grp,
            CASE WHEN g.cohort THEN :cohortVersion::int ELSE :restVersion::int END AS expected
          FROM ledger_events ev JOIN grp g ON g.id = ev.member_id
          WHERE ev.created_at >= :baselineFrom AND ev.created_at < :at) x
    WHERE grp IS NOT NULL GROUP BY grp
  ),
  entries_ AS (
    SELECT grp,
      coalesce(sum(amount) FILTER (WHERE kind = 'accrual'), 0)::bigint AS issued,
      coalesce(sum(amount), 0)::bigint AS growth,
      count(*) FILTER (WHERE kind = 'adjustment'
        AND ledger_entry_cause(kind, dedupe_key) = 'manual')::bigint AS manual
    FROM (SELECT e.kind, e.amount, e.dedupe_key, ${groupOf('e')} AS grp
          FROM ledger_entries e JOIN grp g ON g.id = e.member_id
          WHERE e.created_at >= :baselineFrom AND e.created_at < :at) x
    WHERE grp IS NOT NULL GROUP BY grp
  ),
  redemptions_ AS (
    SELECT grp, count(*)::bigint AS redemptions,
      count(*) FILTER (WHERE status = 'failed')::bigint AS failures
    FROM (SELECT r.status, ${groupOf('r')} AS grp
          FROM redemptions r JOIN grp g ON g.id = r.member_id
          WHERE r.created_at >= :baselineFrom AND r.created_at < :at) x
    WHERE grp IS NOT NULL GROUP BY grp
  )
  SELECT v.grp,
    CASE v.grp WHEN 'cohort' THEN m.cohort WHEN 'rest' THEN m.rest ELSE m.baseline END AS members,
    coalesce(ev.active, 0) AS active, coalesce(ev.errors, 0) AS errors,
    coalesce(r.redemptions, 0) AS redemptions, coalesce(r.failures, 0) AS failures,
    coalesce(e.issued, 0) AS issued, coalesce(e.growth, 0) AS growth,
    coalesce(e.manual, 0) AS manual
  FROM (VALUES ('cohort'), ('rest'), ('baseline')) v(grp) CROSS JOIN members_ m
  LEFT JOIN events_ ev USING (grp) LEFT JOIN entries_ e USING (grp)
  LEFT JOIN redemptions_ r USING (grp)`;

const figuresOf = (row: Row | undefined): Figures => {
  const r = row ?? {
    members: 0,
    active: 0,
    errors: 0,
    redemptions: 0,
    failures: 0,
    issued: 0,
    growth: 0,
    manual: 0,
  };
  return {
    members: r.members,
    activeMembers: r.active,
    accrualErrors: r.errors,
    redemptions: r.redemptions,
    redemptionFailures: r.failures,
    redemptionFailureRate: r.redemptions > 0 ? r.failures / r.redemptions : 0,
    pointsIssued: r.issued,
    pointsPerActiveMember: r.active > 0 ? r.issued / r.active : 0,
    liabilityGrowth: r.growth,
    anomalyAlerts: 0,
    manualAdjustments: r.manual,
  };
};

export async function measureGuards(deps: { db: Db }, input: GuardInput): Promise<GuardFigures> {
  const at = input.at ? new Date(input.at) : new Date();
  const since = new Date(input.since);
  const baselineFrom = input.baselineFrom
    ? new Date(input.baselineFrom)
    : new Date(since.getTime() - Math.max(0, at.getTime() - since.getTime()));
  const notes = [
    'anomalyAlerts: no anomaly detection exists yet; always 0.',
    'accrualErrors: refused events leave no record; counted are earning events recorded under another version than the one in force for the member. Not measurable before go-live: the baseline has 0.',
  ];
  let versions = input.versions;
  if (!versions) {
    const release = await releaseState(deps.db);
    const holds = release.cohort?.launchId === input.launchId;
    versions = { cohort: holds ? release.cohort!.version : null, rest: release.generalVersion };
    if (!holds)
      notes.push(
        `the cohort of ${input.launchId} is not open: its accrual errors are not counted.`,
      );
  }
  // The hash joins and the distinct count hold a row per member: in memory, not spilled to disk.
  const { rows } = await deps.db.transaction(
    async (trx) => {
      await trx.raw(`SET LOCAL work_mem = '${guardWorkMem}'`);
      return trx.raw<{ rows: Row[] }>(guardStatement, {
        launchId: input.launchId,
        percent: input.cohort.percent,
        named: input.cohort.members ?? [],
        at,
        since,
        baselineFrom,
        cohortVersion: versions.cohort,
        restVersion: versions.rest,
      });
    },
    { readOnly: true },
  );
  const of = (grp: Row['grp']) => figuresOf(rows.find((r) => r.grp === grp));
  const expected =
    input.expectedPerActiveMember == null
      ? null
      : { pointsPerActiveMember: input.expectedPerActiveMember };
  return {
    at: at.toISOString(),
    since: since.toISOString(),
    baselineFrom: baselineFrom.toISOString(),
    cohort: of('cohort'),
    rest: of('rest'),
    baseline: of('baseline'),
    expected,
    notes,
  };
}
