import type { Knex } from 'knex';

/**
 * Webhook deliveries become a queue per subscription, worked by one long-lived workflow each
 * (`webhook-subscription:<id>`) instead of a workflow per delivery (issue #12).
 *
 * - A pending delivery whose `started_at` is null belongs to the queue; one with `started_at` set
 *   belongs to a per-delivery workflow started before this change, which finishes it as before.
 * - `next_attempt_at` is when it is due (now, for a new one; the retry schedule's next wait after
 *   a failed attempt); `leased_until` keeps a claimed delivery from being claimed again while its
 *   request is on the wire (a worker that dies mid-send leaves it due again when the lease ends).
 * - `member_id` (the event's) lets a subscription ask for its deliveries in order per member.
 * - `webhook_subscriptions.awake`: its workflow is delivering (or backing off), so the outbox
 *   dispatcher need not wake it; only a false-to-true change sends a signal.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('webhook_subscriptions', (t) => {
    t.boolean('ordered_by_member')
      .notNullable()
      .defaultTo(false)
      .comment("Deliver one member's events one after the other, in order.");
    t.boolean('awake')
      .notNullable()
      .defaultTo(false)
      .comment('Its delivery workflow is working or backing off: no wake-up signal needed.');
  });
  await knex.schema.alterTable('webhook_deliveries', (t) => {
    t.uuid('member_id').comment("The event's member, for ordered delivery.");
    t.timestamp('leased_until', { useTz: true }).comment('Claimed; on the wire until then.');
  });
  await knex.raw(`ALTER TABLE webhook_deliveries ALTER COLUMN next_attempt_at SET DEFAULT now()`);
  await knex.raw(`UPDATE webhook_deliveries d SET member_id = e.member_id,
      next_attempt_at = coalesce(d.next_attempt_at, d.created_at)
    FROM program_events e WHERE e.id = d.event_id AND d.status = 'pending'`);
  await knex.raw(
    `COMMENT ON COLUMN webhook_deliveries.started_at IS 'Set: a per-delivery workflow (before issue #12) owns it. Null: the subscription queue does.'`,
  );
  // The queue's two reads: the due ones in due order, and the oldest one (the circuit's probe).
  await knex.raw(`CREATE INDEX webhook_deliveries_due ON webhook_deliveries
    (subscription_id, next_attempt_at, id) WHERE status = 'pending' AND started_at IS NULL`);
  await knex.raw(`CREATE INDEX webhook_deliveries_queue ON webhook_deliveries
    (subscription_id, id) WHERE status = 'pending' AND started_at IS NULL`);
  // Every queue delivery keeps started_at null: this index would hold them all, and nothing
  // looks for unstarted deliveries any more.
  await knex.raw('DROP INDEX webhook_deliveries_unstarted');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(
    'CREATE INDEX webhook_deliveries_unstarted ON webhook_deliveries (id) WHERE started_at IS NULL',
  );
  await knex.raw('DROP INDEX webhook_deliveries_queue');
  await knex.raw('DROP INDEX webhook_deliveries_due');
  await knex.raw(`ALTER TABLE webhook_deliveries ALTER COLUMN next_attempt_at DROP DEFAULT`);
  await knex.schema.alterTable('webhook_deliveries', (t) => {
    t.dropColumn('leased_until');
    t.dropColumn('member_id');
  });
  await knex.schema.alterTable('webhook_subscriptions', (t) => {
    t.dropColumn('awake');
    t.dropColumn('ordered_by_member');
  });
}
