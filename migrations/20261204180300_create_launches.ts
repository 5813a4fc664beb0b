import type { Knex } from 'knex';

/**
 * Launches (`launch:<id>`): a rule change rolled out with a plan: readiness checks and owner
 * sign-offs, a soft launch to a cohort, monitoring windows and staged promotion. The row mirrors
 * what the workflow decided, step by step (each step with its audit row and programme event in one
 * transaction), so the API shows a launch without asking Temporal, also after it has ended.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('launches', (t) => {
    t.text('id').primary();
    t.text('change_id').notNullable();
    t.text('state').notNullable();
    t.jsonb('plan').notNullable();
    /** The version rolled out, and the general version it falls back to. */
    t.integer('version').notNullable().references('rule_sets.version');
    t.integer('base_version').notNullable().references('rule_sets.version');
    /** The readiness checks' last results: `{ results, at, passed, deadlineAt, deadlinePassed }`. */
    t.jsonb('checks').notNullable().defaultTo('{}');
    /** Per named area: `{ owner, signed, by, at, reason }`. */
    t.jsonb('signoffs').notNullable().defaultTo('{}');
    /** 0: the soft launch; n: the plan's n-th stage. */
    t.integer('stage').notNullable().defaultTo(0);
    t.decimal('cohort_percent', 5, 2).notNullable().defaultTo(0);
    t.timestamp('go_live_at', { useTz: true });
    t.text('slot_moved_because');
    /** The current window and its last figures and verdicts. */
    t.jsonb('monitoring');
    t.text('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['state', 'created_at']);
    t.index(['change_id']);
  });
  await knex.raw(`ALTER TABLE launches
    ADD CONSTRAINT launches_state CHECK (state IN ('preparing', 'ready', 'waiting',
      'soft-launched', 'promoting', 'live', 'paused', 'rolled-back', 'cancelled')),
    ADD CONSTRAINT launches_percent CHECK (cohort_percent >= 0 AND cohort_percent <= 100)`);
  // One launch at a time per rule change.
  await knex.raw(`CREATE UNIQUE INDEX launches_one_open_per_change ON launches (change_id)
    WHERE state NOT IN ('live', 'rolled-back', 'cancelled')`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('launches');
}
