import type { Knex } from 'knex';

/** `/metrics` counts review steps at each scrape: only those rows, not the whole timeline. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX redemption_steps_review ON redemption_steps (step)
    WHERE step IN ('in_review', 'review_reminded', 'review_decided')`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX redemption_steps_review');
}
