/**
 * The reads the detectors need, thin: each an indexed range on (member_id, created_at) or
 * (status, created_at). The redemption screen reads per redemption; the accrual screen reads once
 * per batch for all its members (the `...OfMembers` forms, guardrails/accrual-reads.ts).
 */
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
  return (await accrualsOfMembersSince(db, [memberId], since)).get(memberId) ?? [];
}

/** `accrualsSince` for many members at once (one batch's), grouped by member. */
export async function accrualsOfMembersSince(
  db: Q,
  memberIds: string[],
  since: Date,
): Promise<Map<string, Activity[]>> {
  const rows = await db('ledger_entries as e')
    .leftJoin('ledger_events as ev', 'ev.id', 'e.source_event_id')
    .whereIn('e.member_id', memberIds)
    .andWhere('e.kind', 'accrual')
    .andWhere('e.created_at', '>', since)
    .select<({ member_id: string; at: Date; points: number } & Where)[]>(
      'e.member_id',
      'e.created_at as at',
      'e.amount as points',
      ...where(db),
    );
  const out = new Map<string, Activity[]>();
  for (const r of rows) {
    const list = out.get(r.member_id) ?? [];
    list.push({ at: r.at, points: Number(r.points), ...located(r) });
    out.set(r.member_id, list);
  }
  return out;
}

/** `recentCountries` for many members at once, grouped by member (newest first each). */
export async function recentCountriesOfMembers(
  db: Q,
  memberIds: string[],
  limit: number,
): Promise<Map<string, string[]>> {
  const { rows } = await db.raw<{ rows: { member_id: string; country: string }[] }>(
    `SELECT m.id AS member_id, c.country
       FROM unnest(?::uuid[]) AS m(id)
       CROSS JOIN LATERAL (
         SELECT payload->>'country' AS country, occurred_at FROM ledger_events
          WHERE member_id = m.id AND payload->>'country' IS NOT NULL
          ORDER BY occurred_at DESC LIMIT ?) c
      ORDER BY m.id, c.occurred_at DESC`,
    [memberIds, limit],
  );
  const out = new Map<string, string[]>();
  for (const r of rows) out.set(r.member_id, [...(out.get(r.member_id) ?? []), r.country]);
  return out;
}

/** For each device, up to `limit` members whose events named it. */
export async function membersOnDevices(
  db: Q,
  deviceIds: string[],
  limit: number,
): Promise<Map<string, string[]>> {
  const { rows } = await db.raw<{ rows: { device: string; member_id: string }[] }>(
    `SELECT d.device, m.member_id
       FROM unnest(?::text[]) AS d(device)
       CROSS JOIN LATERAL (
         SELECT DISTINCT member_id FROM ledger_events
          WHERE payload->>'deviceId' = d.device LIMIT ?) m`,
    [deviceIds, limit],
  );
  const out = new Map<string, string[]>();
  for (const r of rows) out.set(r.device, [...(out.get(r.device) ?? []), r.member_id]);
  return out;
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
  return (await recentCountriesOfMembers(db, [memberId], limit)).get(memberId) ?? [];
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

/** Where an accrual's event happened, as columns (the event's whole payload is not read). */
interface Where {
  country: string | null;
  lat: number | null;
  lon: number | null;
}

const where = (db: Q) => [
  db.raw("ev.payload->>'country' AS country"),
  db.raw("(ev.payload->>'lat')::float8 AS lat"),
  db.raw("(ev.payload->>'lon')::float8 AS lon"),
];

function located(w: Where): Partial<Activity> {
  const out: Partial<Activity> = {};
  if (w.country !== null) out.country = w.country;
  if (w.lat !== null && w.lon !== null) {
    out.lat = w.lat;
    out.lon = w.lon;
  }
  return out;
}
