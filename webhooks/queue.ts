/**
 * A subscription's deliveries as a queue in Postgres (issue #12): its one workflow claims the due
 * ones in batches, sends them, and records every attempt with the delivery's next state in one
 * statement per batch. Only pending deliveries with `started_at` null are the queue's (a set
 * `started_at` means a per-delivery workflow from before owns it).
 */
import type { Knex } from 'knex';
import type { Db, Trx } from '../infra/db';
import type { DeliveryStatus, EventRow } from './deliveries';

/** Pending, the queue's, and due: its retry time has come and nobody holds it. */
const due = `status = 'pending' AND started_at IS NULL AND next_attempt_at <= now()
  AND (leased_until IS NULL OR leased_until <= now())`;
const queued = `subscription_id = :subscriptionId AND status = 'pending' AND started_at IS NULL`;

export interface ClaimedDelivery {
  id: number;
  event_id: number;
  attempts: number;
  requested_by: string | null;
}

/**
 * Claims up to `limit` due deliveries for `leaseMs` (long enough for one request and its record),
 * oldest due first. `ordered`: only the oldest pending delivery of each member, so a member's
 * next event waits until the one before it is delivered (or given up). `head`: only the oldest
 * pending delivery of all, if due (the probe of an endpoint that keeps failing). `= ANY(ARRAY(..))`
 * rather than a join: a join of the candidates may be planned as a scan of the whole table.
 */
export async function claimDue(
  db: Db,
  input: {
    subscriptionId: string;
    limit: number;
    leaseMs: number;
    mode: 'all' | 'ordered' | 'head';
  },
): Promise<ClaimedDelivery[]> {
  const candidates = {
    all: `SELECT id FROM webhook_deliveries WHERE subscription_id = :subscriptionId AND ${due}
      ORDER BY next_attempt_at, id LIMIT :limit FOR UPDATE SKIP LOCKED`,
    ordered: `SELECT id FROM (
        SELECT DISTINCT ON (coalesce(member_id::text, id::text)) *
        FROM webhook_deliveries WHERE ${queued} ORDER BY coalesce(member_id::text, id::text), id
      ) heads WHERE ${due} ORDER BY next_attempt_at, id LIMIT :limit`,
    head: `SELECT id FROM (SELECT * FROM webhook_deliveries WHERE ${queued} ORDER BY id LIMIT 1) h
      WHERE ${due}`,
  }[input.mode];
  const { rows } = await db.raw<{ rows: ClaimedDelivery[] }>(
    `UPDATE webhook_deliveries d SET leased_until = now() + make_interval(secs => :leaseS)
     WHERE d.id = ANY(ARRAY(${candidates})) AND d.status = 'pending'
     RETURNING d.id, d.event_id, d.attempts, d.requested_by`,
    { subscriptionId: input.subscriptionId, limit: input.limit, leaseS: input.leaseMs / 1000 },
  );
  return rows.sort((a, b) => a.id - b.id);
}

export async function eventsOf(db: Db, ids: number[]): Promise<Map<number, EventRow>> {
  const rows = await db<EventRow>('program_events')
    .whereIn('id', [...new Set(ids)])
    .select('id', 'type', 'member_id', 'payload', 'occurred_at');
  return new Map(rows.map((e) => [Number(e.id), e]));
}

export interface AttemptRecord {
  deliveryId: number;
  at: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
}

/**
 * Records a batch of attempts in one statement: each delivery's attempt count, state and next
 * attempt's time, and its numbered row in the attempt log (numbered by the database). As for a
 * single attempt, a 2xx always leaves a delivery delivered and nothing undoes that.
 */
export async function recordAttempts(trx: Trx, attempts: AttemptRecord[]): Promise<void> {
  if (attempts.length === 0) return;
  const settles = `(d.status = 'pending' OR (i.status = 'delivered' AND d.status <> 'delivered'))`;
  // Arrays with null entries (knex's types say otherwise; pg sends them as SQL NULLs).
  const array = (values: unknown[]) => values as Knex.Value;
  const bindings = [
    array(attempts.map((a) => a.deliveryId)),
    array(attempts.map((a) => a.at)),
    array(attempts.map((a) => a.statusCode)),
    array(attempts.map((a) => a.latencyMs)),
    array(attempts.map((a) => a.error)),
    array(attempts.map((a) => a.status)),
    array(attempts.map((a) => a.nextAttemptAt)),
  ];
  const column = (name: string, value: string) =>
    `${name} = CASE WHEN ${settles} THEN ${value} ELSE d.${name} END`;
  await trx.raw(
    `WITH i AS (
       SELECT * FROM unnest(?::bigint[], ?::timestamptz[], ?::int[], ?::int[], ?::text[], ?::text[],
         ?::timestamptz[]) AS i(id, at, status_code, latency_ms, error, status, next_attempt_at)
     ), updated AS (
       UPDATE webhook_deliveries d SET attempts = d.attempts + 1, leased_until = NULL,
         ${column('status', 'i.status')}, ${column('last_status_code', 'i.status_code')},
         ${column('last_error', 'i.error')}, ${column('next_attempt_at', 'i.next_attempt_at')},
         ${column('completed_at', "CASE WHEN i.status = 'pending' THEN NULL ELSE i.at END")}
       FROM i WHERE d.id = i.id
       RETURNING d.id, d.attempts, i.at, i.status_code, i.latency_ms, i.error
     )
     INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, latency_ms, error)
     SELECT id, attempts, at, status_code, latency_ms, error FROM updated`,
    bindings,
  );
}

/** Claimed but not sent (the subscription stopped mid-batch): due again at once. */
export async function release(trx: Db | Trx, ids: number[]): Promise<void> {
  if (ids.length) await trx('webhook_deliveries').whereIn('id', ids).update({ leased_until: null });
}

/** A disabled subscription's queue: every pending delivery ends `skipped`. */
export async function skipQueued(db: Db, subscriptionId: string): Promise<number> {
  const { rowCount } = await db.raw<{ rowCount: number }>(
    `UPDATE webhook_deliveries SET status = 'skipped', next_attempt_at = NULL,
       leased_until = NULL, completed_at = now()
     WHERE ${queued}`,
    { subscriptionId },
  );
  return rowCount;
}

/**
 * In how many ms the next delivery of the queue is due (0: now; null: none pending). `head`:
 * the oldest pending one's (the probe's), not the soonest.
 */
export async function dueIn(
  db: Db | Trx,
  subscriptionId: string,
  head = false,
): Promise<number | null> {
  const when = 'greatest(next_attempt_at, coalesce(leased_until, next_attempt_at))';
  // Not greatest(0, ...) in SQL: greatest ignores a null (no pending delivery) and answers 0.
  const { rows } = await db.raw<{ rows: { ms: number | null }[] }>(
    head
      ? `SELECT (extract(epoch FROM ${when} - now()) * 1000)::float8 AS ms
         FROM webhook_deliveries WHERE ${queued} ORDER BY id LIMIT 1`
      : `SELECT (extract(epoch FROM min(${when}) - now()) * 1000)::float8 AS ms
         FROM webhook_deliveries WHERE ${queued}`,
    { subscriptionId },
  );
  const ms = rows[0]?.ms;
  return ms === undefined || ms === null ? null : Math.max(0, Math.ceil(ms));
}

/**
 * Goes to sleep unless something is due: `awake` false, so the dispatcher's next delivery for
 * it sends a wake-up signal. The row is locked first, then the queue read: a dispatcher that
 * made a delivery before this either committed it (read here, so not asleep) or waits on the lock
 * and then sees `awake` false (so it signals). Answers in how many ms the next one is due (the
 * workflow's timer), or 0 when one is due now (and stays awake).
 */
export async function sleepUnlessDue(db: Db, subscriptionId: string): Promise<number | null> {
  return db.transaction(async (trx) => {
    await trx('webhook_subscriptions').where({ id: subscriptionId }).update({ awake: false });
    const ms = await dueIn(trx, subscriptionId);
    if (ms === 0)
      await trx('webhook_subscriptions').where({ id: subscriptionId }).update({ awake: true });
    return ms;
  });
}

/**
 * The subscriptions among `ids` that were asleep, now marked awake: the ones to signal. Rows are
 * locked (in id order, as every dispatcher locks them) before `awake` is read; see sleepUnlessDue.
 */
export async function wakeAsleep(trx: Trx, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await trx.raw<{ rows: { id: string }[] }>(
    `UPDATE webhook_subscriptions s SET awake = true
     FROM (SELECT id, awake FROM webhook_subscriptions WHERE id = ANY(?::uuid[]) ORDER BY id FOR UPDATE) o
     WHERE s.id = o.id AND NOT o.awake RETURNING s.id`,
    [ids],
  );
  return rows.map((r) => r.id);
}

/** Asleep with something due (a lost signal, deliveries made before the queue): marked awake. */
export async function sweepAsleep(db: Db): Promise<string[]> {
  const { rows } = await db.raw<{ rows: { id: string }[] }>(
    `UPDATE webhook_subscriptions s SET awake = true WHERE NOT s.awake AND EXISTS (
       SELECT 1 FROM webhook_deliveries WHERE subscription_id = s.id AND ${due})
     RETURNING s.id`,
  );
  return rows.map((r) => r.id);
}

export async function pendingCount(db: Db, subscriptionId: string): Promise<number> {
  const { rows } = await db.raw<{ rows: { n: number }[] }>(
    `SELECT count(*)::int AS n FROM webhook_deliveries WHERE ${queued}`,
    { subscriptionId },
  );
  return rows[0]?.n ?? 0;
}
