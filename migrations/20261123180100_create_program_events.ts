import type { Knex } from 'knex';

/** What happened in the program, once each (`dedupe_key`); later the webhook outbox. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('program_events', (t) => {
    t.bigIncrements('id').primary();
    t.text('type').notNullable();
    t.uuid('member_id').references('members.id');
    t.text('dedupe_key').notNullable().unique();
    t.jsonb('payload').notNullable().defaultTo('{}');
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['member_id', 'occurred_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('program_events');
}
