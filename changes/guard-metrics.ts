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
 * Members, tagged cohort or not; then each source summed per group and period. A row's period is
 * `now` ([since, at)) or `before` ([baselineFrom, since), cohort only: the baseline).
 */
const statement = `
  WITH grp AS MATERIALIZED (
    SELECT m.id, m.enrolled_at,
      (loyalty_cohort_bucket(:launchId, m.id::text) < :percent * 100
        OR m.id = ANY(:named::uuid[])
        OR EXISTS (SELECT 1 FROM release_cohort_members c
                   WHERE c.launch_id = :launchId AND c.member_id = m.id)) AS cohort
    FROM members m WHERE m.enrolled_at < :at
  ),
  tagged AS (
    SELECT id, CASE WHEN cohort THEN 'cohort' ELSE 'rest' END AS grp, enrolled_at < :at AS counted
    FROM grp
    UNION ALL
    SELECT id, 'baseline', enrolled_at < :since FROM grp WHERE cohort
  ),
  span AS (
    SELECT 'cohort' AS grp, :since::timestamptz AS from_, :at::timestamptz AS to_
    UNION ALL SELECT 'rest', :since, :at
    UNION ALL SELECT 'baseline', :baselineFrom, :since
  ),
  members_ AS (
    SELECT grp, count(*) FILTER (WHERE counted)::bigint AS members FROM tagged GROUP BY grp
  ),
  events_ AS (
    SELECT t.grp, count(DISTINCT ev.member_id)::bigint AS active,
      count(*) FILTER (WHERE t.grp <> 'baseline' AND ev.type <> 'return'
        AND (CASE t.grp WHEN 'cohort' THEN :cohortVersion::int ELSE :restVersion::int END) IS NOT NULL
        AND ev.rule_version <> (CASE t.grp WHEN 'cohort' THEN :cohortVersion::int
                                ELSE :restVersion::int END))::bigint AS errors
    FROM tagged t JOIN span s USING (grp)
    JOIN ledger_events ev ON ev.member_id = t.id
      AND ev.created_at >= s.from_ AND ev.created_at < s.to_
    GROUP BY t.grp
  ),
  entries_ AS (
    SELECT t.grp,
      coalesce(sum(e.amount) FILTER (WHERE e.kind = 'accrual'), 0)::bigint AS issued,
      coalesce(sum(e.amount), 0)::bigint AS growth,
      count(*) FILTER (WHERE e.kind = 'adjustment'
        AND ledger_entry_cause(e.kind, e.dedupe_key) = 'manual')::bigint AS manual
    FROM tagged t JOIN span s USING (grp)
    JOIN ledger_entries e ON e.member_id = t.id
      AND e.created_at >= s.from_ AND e.created_at < s.to_
    GROUP BY t.grp
  ),
  redemptions_ AS (
    SELECT t.grp, count(*)::bigint AS redemptions,
      count(*) FILTER (WHERE r.status = 'failed')::bigint AS failures
    FROM tagged t JOIN span s USING (grp)
    JOIN redemptions r ON r.member_id = t.id
      AND r.created_at >= s.from_ AND r.created_at < s.to_
    GROUP BY t.grp
  )
  SELECT s.grp, coalesce(m.members, 0) AS members, coalesce(ev.active, 0) AS active,
    coalesce(ev.errors, 0) AS errors, coalesce(r.redemptions, 0) AS redemptions,
    coalesce(r.failures, 0) AS failures, coalesce(e.issued, 0) AS issued,
    coalesce(e.growth, 0) AS growth, coalesce(e.manual, 0) AS manual
  FROM span s
  LEFT JOIN members_ m USING (grp) LEFT JOIN events_ ev USING (grp)
  LEFT JOIN entries_ e USING (grp) LEFT JOIN redemptions_ r USING (grp)`;

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
  const { rows } = await deps.db.raw<{ rows: Row[] }>(statement, {
    launchId: input.launchId,
    percent: input.cohort.percent,
    named: input.cohort.members ?? [],
    at,
    since,
    baselineFrom,
    cohortVersion: versions.cohort,
    restVersion: versions.rest,
  });
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
