import type { Knex } from 'knex';

/**
 * Console sessions: an API key exchanged for a cookie. The token is stored as a SHA-256 hash
 * only (like the keys); a session ends at `expires_at`, on sign-out (`revoked_at`) and with its key.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sessions', (t) => {
    t.uuid('id').primary();
    t.text('token_hash').notNullable().unique();
    t.uuid('key_id').notNullable().references('id').inTable('api_keys').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true });
    t.index(['key_id']);
    t.index(['expires_at']);
  });
  await knex.raw(
    'ALTER TABLE sessions ADD CONSTRAINT sessions_expiry_check CHECK (expires_at > created_at)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sessions');
}
