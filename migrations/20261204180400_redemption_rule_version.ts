import type { Knex } from 'knex';

/**
 * In-flight work keeps its version. A redemption records the program version in force for its
 * member when it was asked for (`rule_version`): its service-recovery credit, SLA deadline,
 * fulfilment priority and return window are that version's, whatever is in force when a later
 * step runs. A return records the version in force when it was asked for (`return_rule_version`):
 * its refund timing is that version's. Rows from before stay null: the general version then.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('redemptions', (t) => {
    t.integer('rule_version')
      .references('rule_sets.version')
      .comment('The program version the redemption is decided under (null: the general one).');
    t.integer('return_rule_version')
      .references('rule_sets.version')
      .comment('The program version in force when its return was asked for.');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('redemptions', (t) => {
    t.dropColumn('return_rule_version');
    t.dropColumn('rule_version');
  });
}
