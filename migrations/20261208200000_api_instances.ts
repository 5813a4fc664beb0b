import type { Knex } from 'knex';

/**
 * Each API process says it is alive (a heartbeat), and an `Idempotency-Key` lease names the
 * process holding it: a lease whose holder stopped beating is taken over at once, instead of
 * blocking the key's retries for the whole lease.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_instances', (t) => {
    t.uuid('id').primary();
    t.text('host').notNullable();
    t.integer('pid').notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('heartbeat_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.alterTable('idempotency_keys', (t) => {
    t.uuid('holder').comment('The api_instances row running the request while it has no answer.');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => t.dropColumn('holder'));
  await knex.schema.dropTable('api_instances');
}
