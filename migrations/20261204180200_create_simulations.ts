import type { Knex } from 'knex';

/**
 * What-if simulations: a proposed program replayed over the stored events of a window, without
 * writing to the ledger. One row per simulation: its input, its progress while it runs (written by
 * each page, as an absolute count, so a retried page cannot count twice) and its result once done.
 *
 * The simulation reads each member's events in (occurred_at, id) order, member after member, so
 * `ledger_events` gains an index in that order.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('simulations', (t) => {
    t.text('id').primary().comment('The business key: simulation:<id> is its workflow.');
    t.text('change_id').comment('The rule change it belongs to, if any.');
    t.text('state').notNullable().defaultTo('running');
    t.jsonb('program').notNullable().comment('The proposed program (as given).');
    t.integer('base_version').references('rule_sets.version');
    t.timestamp('window_from', { useTz: true }).notNullable();
    t.timestamp('window_to', { useTz: true }).notNullable();
    t.bigInteger('total').notNullable().defaultTo(0).comment('Events in the window.');
    t.bigInteger('processed').notNullable().defaultTo(0);
    t.jsonb('result');
    t.text('error');
    t.text('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.index(['change_id']);
  });
  await knex.raw(`ALTER TABLE simulations
    ADD CONSTRAINT simulations_state CHECK (state IN ('running', 'completed', 'failed')),
    ADD CONSTRAINT simulations_window CHECK (window_from < window_to),
    ADD CONSTRAINT simulations_progress CHECK (processed >= 0)`);
  await knex.raw(
    'CREATE INDEX ledger_events_member_occurred ON ledger_events (member_id, occurred_at, id)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX ledger_events_member_occurred');
  await knex.schema.dropTable('simulations');
}
