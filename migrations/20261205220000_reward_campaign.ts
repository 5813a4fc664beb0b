import type { Knex } from 'knex';

/**
 * A reward's optional campaign tag: redemptions of every reward tagged with a campaign count
 * against that campaign's budget (`budgets.campaigns.<campaign>`, domain/budgets.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE rewards ADD COLUMN campaign text`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE rewards DROP COLUMN campaign`);
}
