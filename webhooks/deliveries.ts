/**
 * Deliveries: the outbox (`program_events`) claimed once, each event becoming one delivery per
 * matching, enabled subscription made before it (in SQL, no workflow per delivery); every attempt
 * recorded (status code, latency, error); replays are new deliveries of the same event.
 */
import type { Db } from '../infra/db';
import { wakeAsleep } from './queue';
import type { SubscriptionRow } from './subscriptions';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'gone' | 'skipped';

export interface DeliveryRow {
  id: number;
  subscription_id: string;
  event_id: number;
  replay_of: number | null;
  requested_by: string | null;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
  leased_until: Date | null;
  member_id: string | null;
  started_at: Date | null;
  created_at: Date;
  completed_at: Date | null;
}

export interface AttemptRow {
  delivery_id: number;
  attempt: number;
  at: Date;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}

export interface EventRow {
  id: number;
  type: string;
  member_id: string | null;
  payload: Record<string, unknown>;
  occurred_at: Date;
}

/** SQL: whether filter list `filters` (`text[]`) matches event type `type` (as `matches()`). */
export const filterMatches = (filters: string, type: string): string =>
  `EXISTS (SELECT 1 FROM unnest(${filters}) f WHERE f = '*' OR f = ${type}
    OR (f LIKE '%.*' AND starts_with(${type}, left(f, -1))))`;

/**
 * Claims up to `limit` undelivered events (SKIP LOCKED: dispatchers never block each other, and
 * an event committed late by a long transaction is claimed whenever it appears, unlike a cursor)
 * and writes their deliveries, one per matching, enabled subscription made before the event, in
 * one statement. Answers how many events were claimed, and the subscriptions that got deliveries
 * while their workflow was asleep (marked awake in the same transaction: the ones to signal).
 */
export async function claimEvents(
  db: Db,
  limit: number,
): Promise<{ claimed: number; wake: string[] }> {
  return db.transaction(async (trx) => {
    const { rows } = await trx.raw<{ rows: { claimed: number; subscriptions: string[] }[] }>(
      `WITH claimed AS (
         SELECT id FROM program_events WHERE dispatched_at IS NULL
         ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED
       ), events AS (
         UPDATE program_events e SET dispatched_at = now()
         WHERE e.id = ANY(ARRAY(SELECT id FROM claimed))
         RETURNING e.id, e.type, e.member_id, e.occurred_at
       ), made AS (
         INSERT INTO webhook_deliveries (subscription_id, event_id, member_id)
         SELECT s.id, e.id, e.member_id FROM events e JOIN webhook_subscriptions s
           ON s.status = 'enabled' AND s.created_at <= e.occurred_at
           AND ${filterMatches('s.event_types', 'e.type')}
         ORDER BY e.id, s.id
         ON CONFLICT (subscription_id, event_id) WHERE requested_by IS NULL DO NOTHING
         RETURNING subscription_id
       )
       SELECT (SELECT count(*)::int FROM events) AS claimed,
         ARRAY(SELECT DISTINCT subscription_id::text FROM made) AS subscriptions`,
      [limit],
    );
    const { claimed, subscriptions } = rows[0]!;
    return { claimed, wake: await wakeAsleep(trx, subscriptions) };
  });
}

export async function loadDelivery(db: Db, id: number) {
  const delivery = await db<DeliveryRow>('webhook_deliveries').where({ id }).first();
  if (!delivery) return undefined;
  const [subscription, event] = await Promise.all([
    db<SubscriptionRow>('webhook_subscriptions').where({ id: delivery.subscription_id }).first(),
    db<EventRow>('program_events').where({ id: delivery.event_id }).first(),
  ]);
  return { delivery, subscription: subscription!, event: event! };
}

/**
 * Records one attempt (numbered by the database: a retried activity's second try is attempt n+1,
 * not a duplicate of n) and the delivery's state. A pending delivery takes the attempt's status;
 * a 2xx always makes it delivered, and nothing undoes that (a late try that ran beside a retry).
 * Answers the attempt's number.
 */
export async function recordAttempt(
  db: Db,
  input: {
    deliveryId: number;
    at: Date;
    statusCode: number | null;
    latencyMs: number;
    error: string | null;
    status: DeliveryStatus;
    nextAttemptAt: Date | null;
  },
): Promise<number> {
  return db.transaction(async (trx) => {
    // Locked, so the attempts of one delivery are numbered one after the other.
    const delivery = await trx<DeliveryRow>('webhook_deliveries')
      .where({ id: input.deliveryId })
      .forUpdate()
      .first('status', 'attempts');
    if (!delivery) throw new Error(`no delivery ${input.deliveryId}`);
    const attempt = delivery.attempts + 1;
    await trx('webhook_attempts').insert({
      delivery_id: input.deliveryId,
      attempt,
      at: input.at,
      status_code: input.statusCode,
      latency_ms: input.latencyMs,
      error: input.error,
    });
    const settles =
      delivery.status === 'pending' ||
      (input.status === 'delivered' && delivery.status !== 'delivered');
    await trx('webhook_deliveries')
      .where({ id: input.deliveryId })
      .update({
        attempts: attempt,
        ...(settles
          ? {
              status: input.status,
              last_status_code: input.statusCode,
              last_error: input.error,
              next_attempt_at: input.nextAttemptAt,
              completed_at: input.status === 'pending' ? null : input.at,
            }
          : {}),
      });
    return attempt;
  });
}

export async function finishDelivery(db: Db, id: number, status: DeliveryStatus): Promise<void> {
  await db('webhook_deliveries')
    .where({ id, status: 'pending' })
    .update({ status, next_attempt_at: null, completed_at: new Date() });
}

export async function listDeliveries(
  db: Db,
  subscriptionId: string,
  page: { limit: number; before?: number | undefined },
): Promise<(DeliveryRow & { event_type: string })[]> {
  const query = db<DeliveryRow & { event_type: string }>('webhook_deliveries as d')
    .join('program_events as e', 'e.id', 'd.event_id')
    .where('d.subscription_id', subscriptionId)
    .select('d.*', 'e.type as event_type')
    .orderBy('d.id', 'desc')
    .limit(page.limit);
  if (page.before !== undefined) void query.where('d.id', '<', page.before);
  return query;
}

export async function attemptsOf(db: Db, deliveryIds: number[]): Promise<AttemptRow[]> {
  if (deliveryIds.length === 0) return [];
  return db<AttemptRow>('webhook_attempts')
    .whereIn('delivery_id', deliveryIds)
    .orderBy([{ column: 'delivery_id' }, { column: 'attempt' }]);
}

export async function createReplay(
  db: Db,
  input: { subscriptionId: string; eventId: number; requestedBy: string },
): Promise<DeliveryRow> {
  const first = await db<DeliveryRow>('webhook_deliveries')
    .where({ subscription_id: input.subscriptionId, event_id: input.eventId })
    .whereNull('requested_by')
    .first();
  const [row] = await db<DeliveryRow>('webhook_deliveries')
    .insert({
      subscription_id: input.subscriptionId,
      event_id: input.eventId,
      replay_of: first?.id ?? null,
      requested_by: input.requestedBy,
      member_id: db.raw('(SELECT member_id FROM program_events WHERE id = ?)', [input.eventId]),
    })
    .returning('*');
  return row!;
}

/**
 * Redelivers what a subscription missed between `since` and `until`: one replay delivery for
 * each claimed event it matches, from after it was made, that it has no delivered or pending
 * delivery of (so a second call adds nothing for events already on their way), queued for the
 * subscription's workflow (the caller wakes it). Answers how many, at most `limit`, oldest first.
 */
export async function createRangeReplay(
  db: Db,
  input: {
    subscription: SubscriptionRow;
    since: Date;
    until: Date;
    requestedBy: string;
    limit: number;
  },
): Promise<number> {
  const { subscription: s } = input;
  const { rowCount } = await db.raw<{ rowCount: number }>(
    `INSERT INTO webhook_deliveries (subscription_id, event_id, member_id, replay_of, requested_by)
     SELECT :id, e.id, e.member_id, first.id, :requestedBy FROM program_events e
     LEFT JOIN webhook_deliveries first
       ON first.subscription_id = :id AND first.event_id = e.id AND first.requested_by IS NULL
     WHERE e.dispatched_at IS NOT NULL AND e.occurred_at >= greatest(:since::timestamptz, :createdAt::timestamptz)
       AND e.occurred_at < :until::timestamptz
       AND ${filterMatches(':filters::text[]', 'e.type')}
       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries x WHERE x.subscription_id = :id
         AND x.event_id = e.id AND x.status IN ('delivered', 'pending'))
     ORDER BY e.id LIMIT :limit`,
    {
      id: s.id,
      requestedBy: input.requestedBy,
      since: input.since,
      createdAt: s.created_at,
      until: input.until,
      filters: s.event_types,
      limit: input.limit,
    },
  );
  return rowCount;
}
