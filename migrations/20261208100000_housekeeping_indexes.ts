import type { Knex } from 'knex';

/**
 * Housekeeping (workflows/housekeeping.ts) deletes idempotency keys and partner callback ids by
 * age, a batch at a time: each batch finds its oldest rows by these indexes instead of a scan.
 * Built CONCURRENTLY (outside a transaction), so a table that has grown large keeps taking writes.
 */
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at)',
  );
  await knex.raw(
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS inbound_webhooks_received_at ON inbound_webhooks (received_at)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX CONCURRENTLY IF EXISTS idempotency_keys_created_at');
  await knex.raw('DROP INDEX CONCURRENTLY IF EXISTS inbound_webhooks_received_at');
}
