import type { Knex } from 'knex';

/**
 * The ops queue filters redemptions by reward (`GET /redemptions?rewardId=`, and its counts):
 * an index in the queue's order, like the ones by status and by member.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('redemptions', (t) => {
    t.index(['reward_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('redemptions', (t) => {
    t.dropIndex(['reward_id', 'created_at']);
  });
}
