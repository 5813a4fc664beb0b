/**
 * The redemption queue as ops work it: filtered by status (several), tier, reward, member, age and
 * SLA risk, oldest first (or newest), in keyset pages; and how many there are per status under the
 * same filters, in one grouped query. Each row comes with when it shipped and whether the workflow
 * recorded an SLA breach, so its deadline and risk can be told (see `domain/redemption-ops.ts`).
 */
import type { Knex } from 'knex';
import type { RedemptionStatus } from '../domain/redemption';
import { slaOpenStatuses } from '../domain/redemption-ops';
import type { Db } from '../infra/db';
import type { RedemptionRow } from './records';

export interface QueueRow extends RedemptionRow {
  shipped_at: Date | null;
  delivered: boolean;
  sla_breach_recorded: boolean;
}

export interface QueueFilter {
  statuses?: RedemptionStatus[] | undefined;
  tier?: string | undefined;
  memberId?: string | undefined;
  rewardId?: string | undefined;
  /** Only those asked for before this time (older than some age). */
  createdBefore?: Date | undefined;
  /** true: only those at risk of breaching their delivery SLA (or past it); false: the others. */
  atRisk?: boolean | undefined;
}

/**
 * What "at risk" means now: within `marginMs` of the redemption's delivery SLA since shipping or
 * the request. Each redemption's SLA is its own version's (`slaByVersion`); `deliverySlaMs` (the
 * general version's) is for redemptions from before versions were recorded.
 */
export interface RiskPolicy {
  deliverySlaMs: number;
  slaByVersion: Map<number, number>;
  marginMs: number;
  now: Date;
}

/** The delivery SLA of a redemption row under `risk`. */
export const slaMsOf = (row: { rule_version: number | null }, risk: RiskPolicy): number =>
  (row.rule_version !== null ? risk.slaByVersion.get(row.rule_version) : undefined) ??
  risk.deliverySlaMs;

const shippedAt = `(SELECT min(s.at) FROM redemption_steps s
  WHERE s.redemption_id = r.id AND s.step = 'shipped')`;

/**
 * At risk (open, and its deadline less than the margin away), in SQL: deadline - margin <= now
 * <=> clock start <= now + margin - sla, each row with its own version's SLA.
 */
function atRiskSql(risk: RiskPolicy): { sql: string; bindings: unknown[] } {
  const sla = `coalesce((SELECT v.sla FROM unnest(?::int[], ?::bigint[]) AS v(version, sla)
    WHERE v.version = r.rule_version), ?)`;
  return {
    sql: `r.status = ANY(?) AND coalesce(${shippedAt}, r.created_at)
      <= ?::timestamptz - ${sla} * interval '1 millisecond'`,
    bindings: [
      [...slaOpenStatuses],
      new Date(risk.now.getTime() + risk.marginMs),
      [...risk.slaByVersion.keys()],
      [...risk.slaByVersion.values()],
      risk.deliverySlaMs,
    ],
  };
}

/** Queue rows: the redemption, when it shipped, and whether delivered or a breach recorded. */
const selectRows = (db: Db): Knex.QueryBuilder =>
  db('redemptions as r').select(
    'r.*',
    db.raw(`${shippedAt} AS shipped_at`),
    db.raw(`EXISTS (SELECT 1 FROM redemption_steps s
      WHERE s.redemption_id = r.id AND s.step = 'delivered') AS delivered`),
    db.raw(`EXISTS (SELECT 1 FROM redemption_steps s
      WHERE s.redemption_id = r.id AND s.step = 'sla_breached') AS sla_breach_recorded`),
  );

function applyFilter(query: Knex.QueryBuilder, filter: QueueFilter, risk: RiskPolicy): void {
  if (filter.statuses?.length) void query.whereIn('r.status', filter.statuses);
  if (filter.tier) void query.where('r.tier', filter.tier);
  if (filter.memberId) void query.where('r.member_id', filter.memberId);
  if (filter.rewardId) void query.where('r.reward_id', filter.rewardId);
  if (filter.createdBefore) void query.where('r.created_at', '<', filter.createdBefore);
  if (filter.atRisk !== undefined) {
    const atRisk = atRiskSql(risk);
    void query.whereRaw(
      `(${atRisk.sql}) IS ${filter.atRisk ? 'TRUE' : 'NOT TRUE'}`,
      atRisk.bindings as never[],
    );
  }
}

export async function listQueue(
  db: Db,
  filter: QueueFilter & {
    order: 'oldest' | 'newest';
    /** Keyset paging: after the redemption with this id in the chosen order. */
    after?: string | undefined;
    limit: number;
  },
  risk: RiskPolicy,
): Promise<QueueRow[]> {
  const direction = filter.order === 'oldest' ? 'asc' : 'desc';
  const query = selectRows(db)
    .orderBy([
      { column: 'r.created_at', order: direction },
      { column: 'r.id', order: direction },
    ])
    .limit(filter.limit);
  applyFilter(query, filter, risk);
  if (filter.after) {
    // Compared in SQL: `created_at` has microseconds that a JavaScript Date would round away.
    void query.whereRaw(
      `(r.created_at, r.id) ${direction === 'asc' ? '>' : '<'} (SELECT created_at, id FROM redemptions WHERE id = ?)`,
      [filter.after],
    );
  }
  return (await query) as QueueRow[];
}

/**
 * How many redemptions per status match `filter` (its `statuses` aside, so every status has its
 * count whichever is shown), how many of them are at risk, and in all.
 */
export async function countQueue(
  db: Db,
  filter: QueueFilter,
  risk: RiskPolicy,
): Promise<{ byStatus: Record<string, number>; atRisk: number; total: number }> {
  const atRisk = atRiskSql(risk);
  const query = db('redemptions as r')
    .select(
      'r.status',
      db.raw('count(*)::int AS count'),
      db.raw(`(count(*) FILTER (WHERE ${atRisk.sql}))::int AS at_risk`, atRisk.bindings as never[]),
    )
    .groupBy('r.status');
  applyFilter(query, { ...filter, statuses: undefined }, risk);
  const rows = (await query) as { status: string; count: number; at_risk: number }[];
  return {
    byStatus: Object.fromEntries(rows.map((row) => [row.status, row.count])),
    atRisk: rows.reduce((sum, row) => sum + row.at_risk, 0),
    total: rows.reduce((sum, row) => sum + row.count, 0),
  };
}

/**
 * Where the change feed stands now: the oldest transaction still running (xid8, as text). Every
 * change below it has committed (or rolled back), so one read past it later misses none.
 */
export async function changeWatermark(db: Db): Promise<string> {
  const { rows } = await db.raw<{ rows: { xmin: string }[] }>(
    'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin',
  );
  return rows[0]!.xmin;
}

/**
 * The rows changed by transactions from `since` on (up to `limit`, in the order of their
 * transactions), for a member or reward if given. Rows of transactions at or past a watermark
 * read before are not yet safe to pass: see `changeWatermark`.
 */
export async function queueChanges(
  db: Db,
  since: string,
  filter: Pick<QueueFilter, 'memberId' | 'rewardId'>,
  limit: number,
): Promise<QueueRow[]> {
  const query = selectRows(db)
    .whereRaw('r.change_txid >= ?::xid8', [since])
    .orderByRaw('r.change_txid, r.updated_at, r.id')
    .limit(limit);
  if (filter.memberId) void query.where('r.member_id', filter.memberId);
  if (filter.rewardId) void query.where('r.reward_id', filter.rewardId);
  return (await query) as QueueRow[];
}
