/**
 * The reads the detectors need, thin: each an indexed range on (member_id, created_at) or
 * (status, created_at). The redemption screen reads per redemption; the accrual screen reads once
 * per batch for all its members (the `...OfMembers` forms: columns of the batch's first read,
 * guardrails/accrual-reads.ts).
 */
import { groupBy, selectColumns, type Columns } from '../infra/columns';
import type { Db, Trx } from '../infra/db';
import type { Activity } from './detectors';

type Q = Db | Trx;

export async function enrolledAt(db: Q, memberId: string): Promise<Date | undefined> {
  const row = await db('members')
    .where({ id: memberId })
    .first<{ enrolled_at: Date }>('enrolled_at');
  return row?.enrolled_at;
}

/** Accruals (points issued by events) since `since`, with where the event said it happened. */
export async function accrualsSince(db: Q, memberId: string, since: Date): Promise<Activity[]> {
  const found = await selectColumns(db, accrualsOfMembersSince([memberId], since));
  return found.get(memberId) ?? [];
}

/**
 * `accrualsSince` for many members at once (one batch's), grouped by member, as columns of a
 * statement the caller runs (infra/columns.ts).
 */
export function accrualsOfMembersSince(
  memberIds: string[],
  since: Date,
): Columns<Map<string, Activity[]>> {
  return {
    select: [
      `(SELECT coalesce(json_agg(json_build_object('m', e.member_id, 'at', e.created_at,
          'points', e.amount, 'country', ev.payload->>'country',
          'lat', (ev.payload->>'lat')::float8, 'lon', (ev.payload->>'lon')::float8)), '[]')
        FROM ledger_entries e LEFT JOIN ledger_events ev ON ev.id = e.source_event_id
        WHERE e.member_id = ANY(:guardAccrualMembers::uuid[]) AND e.kind = 'accrual'
          AND e.created_at > :guardAccrualSince) AS guard_accruals`,
    ],
    bindings: { guardAccrualMembers: memberIds, guardAccrualSince: since },
    parse: (row) =>
      groupBy(
        row.guard_accruals as ({ m: string; at: string; points: number } & Where)[],
        (r) => r.m,
        (r) => ({ at: new Date(r.at), points: Number(r.points), ...located(r) }),
      ),
  };
}

/** `recentCountries` for many members at once, grouped by member (newest first each), as columns. */
export function recentCountriesOfMembers(
  memberIds: string[],
  limit: number,
): Columns<Map<string, string[]>> {
  return {
    select: [
      `(SELECT coalesce(json_agg(json_build_object('m', m.id, 'country', c.country)
          ORDER BY m.id, c.occurred_at DESC), '[]')
        FROM unnest(:guardCountryMembers::uuid[]) AS m(id)
        CROSS JOIN LATERAL (
          SELECT payload->>'country' AS country, occurred_at FROM ledger_events
           WHERE member_id = m.id AND payload->>'country' IS NOT NULL
           ORDER BY occurred_at DESC LIMIT :guardCountryLimit) c) AS guard_countries`,
    ],
    bindings: { guardCountryMembers: memberIds, guardCountryLimit: limit },
    parse: (row) =>
      groupBy(
        row.guard_countries as { m: string; country: string }[],
        (r) => r.m,
        (r) => r.country,
      ),
  };
}

/** For each device, up to `limit` members whose events named it, as columns. */
export function membersOnDevices(
  deviceIds: string[],
  limit: number,
): Columns<Map<string, string[]>> {
  return {
    select: [
      `(SELECT coalesce(json_agg(json_build_object('d', d.device, 'm', m.member_id)), '[]')
        FROM unnest(:guardDevices::text[]) AS d(device)
        CROSS JOIN LATERAL (
          SELECT DISTINCT member_id FROM ledger_events
           WHERE payload->>'deviceId' = d.device LIMIT :guardDeviceLimit) m) AS guard_devices`,
    ],
    bindings: { guardDevices: deviceIds, guardDeviceLimit: limit },
    parse: (row) =>
      groupBy(
        row.guard_devices as { d: string; m: string }[],
        (r) => r.d,
        (r) => r.m,
      ),
  };
}

/**
 * Redemptions asked for since `since` (any status but refused ones never get a row), but for
 * `except` (the one being screened: its caller counts it at its own time).
 */
export async function redemptionsSince(
  db: Q,
  memberId: string,
  since: Date,
  except?: string,
): Promise<Activity[]> {
  const q = db('redemptions').where('member_id', memberId).andWhere('created_at', '>', since);
  if (except !== undefined) void q.andWhereNot('id', except);
  const rows = await q.select<{ at: Date; points: number | null }[]>('created_at as at', 'points');
  return rows.map((r) => ({ at: r.at, points: r.points ?? 0 }));
}

/** Countries of the member's last `limit` events that named one, newest first. */
export async function recentCountries(db: Q, memberId: string, limit: number): Promise<string[]> {
  const found = await selectColumns(db, recentCountriesOfMembers([memberId], limit));
  return found.get(memberId) ?? [];
}

/**
 * Redemptions in the hour before `at` and in the same hour of each of the `weeks` weeks before,
 * overall (`rewardId` absent) or of one reward: [current, week-1, week-2, ...].
 */
export async function sameHourCounts(
  db: Q,
  at: Date,
  weeks: number,
  rewardId?: string,
): Promise<number[]> {
  const week = 7 * 24 * 3_600_000;
  const starts = Array.from({ length: weeks + 1 }, (_, i) => at.getTime() - i * week - 3_600_000);
  const { rows } = await db.raw<{ rows: { i: number; n: number }[] }>(
    `SELECT w.i, count(r.id)::int AS n
       FROM unnest(?::timestamptz[]) WITH ORDINALITY AS w(start, i)
       LEFT JOIN redemptions r
         ON r.created_at > w.start AND r.created_at <= w.start + interval '1 hour'
        AND (?::text IS NULL OR r.reward_id = ?::text)
      GROUP BY w.i ORDER BY w.i`,
    [starts.map((s) => new Date(s)), rewardId ?? null, rewardId ?? null],
  );
  return rows.map((r) => r.n);
}

/** Where an accrual's event happened (only these fields of its payload are read). */
interface Where {
  country: string | null;
  lat: number | null;
  lon: number | null;
}

function located(w: Where): Partial<Activity> {
  const out: Partial<Activity> = {};
  if (w.country !== null) out.country = w.country;
  if (w.lat !== null && w.lon !== null) {
    out.lat = w.lat;
    out.lon = w.lon;
  }
  return out;
}
