/**
 * Deliveries: the outbox (`program_events`) claimed once, each event becoming one delivery per
 * matching, enabled subscription made before it; every attempt recorded (status code, latency,
 * error); replays are new deliveries of the same event.
 */
import { matches } from '../domain/webhooks';
import type { Db } from '../infra/db';
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

/**
 * Claims up to `limit` undelivered events (SKIP LOCKED: dispatchers never block each other, and
 * an event committed late by a long transaction is claimed whenever it appears, unlike a cursor)
 * and writes their deliveries, in one transaction. Answers how many events were claimed.
 */
export async function claimEvents(db: Db, limit: number): Promise<number> {
  return db.transaction(async (trx) => {
    const { rows: events } = await trx.raw<{ rows: EventRow[] }>(
      `SELECT id, type, occurred_at FROM program_events WHERE dispatched_at IS NULL
       ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    if (events.length === 0) return 0;
    const subscriptions = await trx<SubscriptionRow>('webhook_subscriptions').where({
      status: 'enabled',
    });
    const pairs = events.flatMap((event) =>
      subscriptions
        .filter((s) => s.created_at <= event.occurred_at && matches(s.event_types, event.type))
        .map((s) => ({ subscription_id: s.id, event_id: event.id })),
    );
    if (pairs.length) {
      await trx.raw(
        `INSERT INTO webhook_deliveries (subscription_id, event_id)
         SELECT * FROM unnest(?::uuid[], ?::bigint[])
         ON CONFLICT (subscription_id, event_id) WHERE requested_by IS NULL DO NOTHING`,
        [pairs.map((p) => p.subscription_id), pairs.map((p) => p.event_id)],
      );
    }
    await trx.raw('UPDATE program_events SET dispatched_at = now() WHERE id = ANY(?::bigint[])', [
      events.map((e) => e.id),
    ]);
    return events.length;
  });
}

/** Deliveries whose workflow is not known to be started (new, or left by a crash). */
export async function unstartedDeliveries(db: Db, limit: number): Promise<DeliveryRow[]> {
  return db<DeliveryRow>('webhook_deliveries').whereNull('started_at').orderBy('id').limit(limit);
}

export async function markStarted(db: Db, ids: number[]): Promise<void> {
  if (ids.length)
    await db('webhook_deliveries').whereIn('id', ids).update({ started_at: new Date() });
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
    })
    .returning('*');
  return row!;
}

/**
 * Redelivers what a subscription missed between `since` and `until`: one replay delivery for
 * each claimed event it matches, from after it was made, that it has no delivered or pending
 * delivery of (so a second call adds nothing for events already on their way). Their workflows
 * are started by the dispatcher's next pass. Answers how many, at most `limit`, oldest first.
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
    `INSERT INTO webhook_deliveries (subscription_id, event_id, replay_of, requested_by)
     SELECT :id, e.id, first.id, :requestedBy FROM program_events e
     LEFT JOIN webhook_deliveries first
       ON first.subscription_id = :id AND first.event_id = e.id AND first.requested_by IS NULL
     WHERE e.dispatched_at IS NOT NULL AND e.occurred_at >= greatest(:since::timestamptz, :createdAt::timestamptz)
       AND e.occurred_at < :until::timestamptz
       AND EXISTS (SELECT 1 FROM unnest(:filters::text[]) f WHERE f = '*' OR f = e.type
         OR (f LIKE '%.*' AND starts_with(e.type, left(f, -1))))
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
