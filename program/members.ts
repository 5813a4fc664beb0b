/** Member figures: counts by status and tier (the exact `member_counts` rollup) and enrolments. */
import { memberStatuses } from '../domain/member';
import type { Db } from '../infra/db';
import type { Window } from './window';

export interface TierCount {
  tier: string;
  active: number;
  dormant: number;
  closed: number;
  suspended: number;
  total: number;
}

export interface MemberFigures {
  total: number;
  active: number;
  dormant: number;
  closed: number;
  suspended: number;
  /** In the programme's tier order; tiers no longer in it last. */
  byTier: TierCount[];
  /** Members enrolled in the window. */
  enrolled: number;
}

export interface CountRow {
  status: string;
  tier: string;
  members: number;
}

/** Members by status and tier, as of this statement (rollup plus changes not compacted yet). */
export async function memberCounts(db: Db): Promise<CountRow[]> {
  const { rows } = await db.raw<{ rows: CountRow[] }>(
    `SELECT status, tier, sum(members)::bigint AS members
     FROM (SELECT * FROM member_counts UNION ALL SELECT * FROM member_counts_changes) c
     GROUP BY status, tier HAVING sum(members) <> 0`,
  );
  return rows;
}

export async function memberFigures(
  db: Db,
  window: Window,
  tierOrder: string[],
): Promise<MemberFigures> {
  const [counts, enrolled] = await Promise.all([
    memberCounts(db),
    db.raw<{ rows: { n: number }[] }>(
      'SELECT count(*)::bigint AS n FROM members WHERE enrolled_at >= ? AND enrolled_at < ?',
      [window.from, window.to],
    ),
  ]);
  const byStatus = (status: string, rows: CountRow[]) =>
    rows.filter((r) => r.status === status).reduce((s, r) => s + r.members, 0);
  const tiers = [...new Set([...tierOrder, ...counts.map((r) => r.tier).sort()])];
  const byTier = tiers
    .map((tier) => {
      const rows = counts.filter((r) => r.tier === tier);
      const [active, dormant, closed, suspended] = memberStatuses.map((s) => byStatus(s, rows));
      return {
        tier,
        active: active!,
        dormant: dormant!,
        closed: closed!,
        suspended: suspended!,
        total: 0,
      };
    })
    .map((t) => ({ ...t, total: t.active + t.dormant + t.closed + t.suspended }));
  const [active, dormant, closed, suspended] = memberStatuses.map((s) => byStatus(s, counts));
  return {
    total: active! + dormant! + closed! + suspended!,
    active: active!,
    dormant: dormant!,
    closed: closed!,
    suspended: suspended!,
    byTier,
    enrolled: enrolled.rows[0]!.n,
  };
}
