import type { Knex } from 'knex';

/**
 * Partner webhooks. `program_events` is the outbox: an event is claimed once (`dispatched_at`)
 * and turned into one delivery per matching subscription; each delivery records every attempt.
 * Subscriptions keep their signing secrets, several at once while an old one is rotated out.
 * Inbound callbacks are remembered by `webhook-id`, so a replayed one changes nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('program_events', (t) => {
    t.timestamp('dispatched_at', { useTz: true }).comment('Claimed for webhook delivery.');
  });
  // Events from before webhooks existed are not delivered retroactively.
  await knex.raw('UPDATE program_events SET dispatched_at = occurred_at');
  await knex.raw(
    'CREATE INDEX program_events_undispatched ON program_events (id) WHERE dispatched_at IS NULL',
  );

  await knex.schema.createTable('webhook_subscriptions', (t) => {
    t.uuid('id').primary();
    t.uuid('owner_key_id').references('api_keys.id').comment('The key that made it.');
    t.text('owner_role').notNullable();
    t.text('url').notNullable();
    t.specificType('event_types', 'text[]').notNullable();
    t.text('description');
    t.text('status').notNullable().defaultTo('enabled');
    t.text('disabled_reason');
    t.timestamp('disabled_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE webhook_subscriptions ADD CONSTRAINT webhook_subscriptions_status_check
    CHECK (status IN ('enabled', 'disabled'))`);

  await knex.schema.createTable('webhook_secrets', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('subscription_id').notNullable().references('webhook_subscriptions.id');
    t.text('secret').notNullable().comment('whsec_...: needed in clear to sign.');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).comment('Null: current. Set when rotated out.');
    t.index(['subscription_id']);
  });

  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('subscription_id').notNullable().references('webhook_subscriptions.id');
    t.bigInteger('event_id').notNullable().references('program_events.id');
    t.bigInteger('replay_of').references('webhook_deliveries.id');
    t.text('requested_by').comment('Who asked for a replay.');
    t.text('status').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('last_status_code');
    t.text('last_error');
    t.timestamp('next_attempt_at', { useTz: true });
    t.timestamp('started_at', { useTz: true }).comment('Its workflow was started.');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.index(['subscription_id', 'id']);
  });
  await knex.raw(`ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_status_check
    CHECK (status IN ('pending', 'delivered', 'failed', 'gone', 'skipped'))`);
  await knex.raw(`CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries
    (subscription_id, event_id) WHERE requested_by IS NULL`);
  await knex.raw(
    'CREATE INDEX webhook_deliveries_unstarted ON webhook_deliveries (id) WHERE started_at IS NULL',
  );

  await knex.schema.createTable('webhook_attempts', (t) => {
    t.bigInteger('delivery_id').notNullable().references('webhook_deliveries.id');
    t.integer('attempt').notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    t.integer('status_code');
    t.integer('latency_ms').notNullable();
    t.text('error');
    t.primary(['delivery_id', 'attempt']);
  });

  await knex.schema.createTable('inbound_webhooks', (t) => {
    t.text('source').notNullable();
    t.text('webhook_id').notNullable();
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['source', 'webhook_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('inbound_webhooks');
  await knex.schema.dropTable('webhook_attempts');
  await knex.schema.dropTable('webhook_deliveries');
  await knex.schema.dropTable('webhook_secrets');
  await knex.schema.dropTable('webhook_subscriptions');
  await knex.raw('DROP INDEX program_events_undispatched');
  await knex.schema.alterTable('program_events', (t) => {
    t.dropColumn('dispatched_at');
  });
}
