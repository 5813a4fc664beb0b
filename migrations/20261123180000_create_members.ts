import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('members', (t) => {
    t.uuid('id').primary();
    t.text('external_id').notNullable().unique();
    t.text('email');
    t.text('name');
    t.text('status').notNullable().defaultTo('active');
    t.text('tier').notNullable().defaultTo('Member');
    t.timestamp('enrolled_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(
    `ALTER TABLE members ADD CONSTRAINT members_status_check CHECK (status IN ('active', 'dormant', 'closed'))`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('members');
}
