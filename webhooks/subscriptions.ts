/**
 * Webhook subscriptions: where a partner wants events, which ones, and the secrets that sign
 * them. A rotated-out secret keeps signing until its grace window ends, so the partner can switch
 * without missing a delivery. Partners see and change only their own subscriptions.
 */
import { randomUUID } from 'node:crypto';
import { generateSecret } from '../infra/webhook-signature';
import type { Db, Trx } from '../infra/db';

export interface SubscriptionRow {
  id: string;
  owner_key_id: string | null;
  owner_role: string;
  url: string;
  event_types: string[];
  description: string | null;
  status: 'enabled' | 'disabled';
  /** One member's events one after the other, in order. */
  ordered_by_member: boolean;
  /** Its delivery workflow is working or backing off (no wake-up signal needed). */
  awake: boolean;
  disabled_reason: string | null;
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface Owner {
  keyId: string;
  role: string;
}

/** Admins see every subscription; anyone else only those their key made. */
const visible = (db: Db | Trx, owner: Owner) => {
  const query = db<SubscriptionRow>('webhook_subscriptions');
  return owner.role === 'admin' ? query : query.where({ owner_key_id: owner.keyId });
};

export async function createSubscription(
  db: Db,
  owner: Owner,
  input: {
    url: string;
    eventTypes: string[];
    description?: string | undefined;
    orderedByMember?: boolean | undefined;
  },
): Promise<{ subscription: SubscriptionRow; secret: string }> {
  const secret = generateSecret();
  return db.transaction(async (trx) => {
    const [subscription] = await trx<SubscriptionRow>('webhook_subscriptions')
      .insert({
        id: randomUUID(),
        owner_key_id: owner.keyId,
        owner_role: owner.role,
        url: input.url,
        event_types: input.eventTypes,
        description: input.description ?? null,
        ordered_by_member: input.orderedByMember ?? false,
      })
      .returning('*');
    await trx('webhook_secrets').insert({ subscription_id: subscription!.id, secret });
    return { subscription: subscription!, secret };
  });
}

export async function findSubscription(
  db: Db | Trx,
  owner: Owner,
  id: string,
): Promise<SubscriptionRow | undefined> {
  return visible(db, owner).where({ id }).first();
}

export async function listSubscriptions(db: Db, owner: Owner): Promise<SubscriptionRow[]> {
  return visible(db, owner).orderBy('created_at');
}

export async function updateSubscription(
  db: Db,
  id: string,
  patch: {
    url?: string | undefined;
    eventTypes?: string[] | undefined;
    enabled?: boolean | undefined;
    orderedByMember?: boolean | undefined;
  },
): Promise<SubscriptionRow> {
  const [row] = await db<SubscriptionRow>('webhook_subscriptions')
    .where({ id })
    .update({
      ...(patch.url !== undefined ? { url: patch.url } : {}),
      ...(patch.eventTypes !== undefined ? { event_types: patch.eventTypes } : {}),
      ...(patch.orderedByMember !== undefined ? { ordered_by_member: patch.orderedByMember } : {}),
      ...(patch.enabled === true
        ? { status: 'enabled', disabled_reason: null, disabled_at: null }
        : {}),
      ...(patch.enabled === false
        ? { status: 'disabled', disabled_reason: 'disabled by its owner', disabled_at: new Date() }
        : {}),
      updated_at: new Date(),
    })
    .returning('*');
  return row!;
}

/**
 * A new secret, current at once; the old ones keep signing for `graceMs` more (deliveries carry
 * one signature per valid secret), then stop.
 */
export async function rotateSecret(
  db: Db,
  id: string,
  graceMs: number,
): Promise<{ secret: string; oldValidUntil: Date }> {
  const secret = generateSecret();
  const oldValidUntil = new Date(Date.now() + graceMs);
  await db.transaction(async (trx) => {
    await trx('webhook_secrets')
      .where({ subscription_id: id })
      .andWhere((q) => void q.whereNull('expires_at').orWhere('expires_at', '>', oldValidUntil))
      .update({ expires_at: oldValidUntil });
    await trx('webhook_secrets').insert({ subscription_id: id, secret });
  });
  return { secret, oldValidUntil };
}

/** The secrets that sign now: the current one and any still in their grace window. */
export async function signingSecrets(
  db: Db | Trx,
  id: string,
  now = new Date(),
): Promise<string[]> {
  return db('webhook_secrets')
    .where({ subscription_id: id })
    .andWhere((q) => void q.whereNull('expires_at').orWhere('expires_at', '>', now))
    .orderBy('id', 'desc')
    .pluck('secret');
}

/** Disables a subscription (410 from the endpoint, or failing for days) and tells ops, once. */
export async function disableSubscription(db: Db, id: string, reason: string): Promise<boolean> {
  return db.transaction(async (trx) => {
    const [row] = await trx<SubscriptionRow>('webhook_subscriptions')
      .where({ id, status: 'enabled' })
      .update({
        status: 'disabled',
        disabled_reason: reason,
        disabled_at: new Date(),
        updated_at: new Date(),
      })
      .returning('*');
    if (!row) return false;
    await trx('program_events').insert({
      type: 'webhook.subscription_disabled',
      dedupe_key: `webhook.subscription_disabled:${id}:${row.disabled_at!.toISOString()}`,
      payload: JSON.stringify({ subscriptionId: id, url: row.url, reason }),
    });
    return true;
  });
}
