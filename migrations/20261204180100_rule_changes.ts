import type { Knex } from 'knex';

/**
 * Rule changes: a new program version as a change request (`rule-change:<id>`), from draft to
 * active. The workflow decides; this row is its durable record, written with an audit row
 * (`change_audit`) in the same transaction on every transition.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rule_changes', (t) => {
    t.text('id').primary();
    t.text('state').notNullable().defaultTo('draft');
    t.text('description');
    t.jsonb('program').notNullable();
    t.integer('base_version')
      .references('rule_sets.version')
      .comment('General version when proposed.');
    t.integer('version').references('rule_sets.version').comment('Published at final approval.');
    t.integer('revision').notNullable().defaultTo(1).comment('Bumped by every edit.');
    t.text('proposed_by');
    t.jsonb('approvals').notNullable().defaultTo('[]');
    t.integer('approvals_required').notNullable();
    t.jsonb('rejection');
    t.jsonb('diff').notNullable().defaultTo('[]');
    t.text('simulation_id');
    t.jsonb('simulation');
    t.timestamp('activate_at', { useTz: true });
    t.timestamp('notice_at', { useTz: true });
    t.text('slot_moved_because');
    t.timestamp('activated_at', { useTz: true });
    t.text('launch_id');
    t.text('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['state', 'created_at']);
  });
  await knex.raw(`ALTER TABLE rule_changes ADD CONSTRAINT rule_changes_state_check CHECK (state IN
    ('draft', 'proposed', 'approved', 'scheduled', 'launching', 'active', 'rejected', 'withdrawn',
     'rolled-back'))`);
  await knex.raw(`ALTER TABLE rule_changes ADD CONSTRAINT rule_changes_version_check
    CHECK (state IN ('draft', 'proposed', 'rejected', 'withdrawn') OR version IS NOT NULL)`);
  await knex.raw(`ALTER TABLE rule_changes ADD CONSTRAINT rule_changes_approvals_check
    CHECK (approvals_required >= 1)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rule_changes');
}
