import type { Knex } from 'knex';

/**
 * Where a redemption ships, when the request says (`shipTo`): kept as asked, and as a normalised
 * key (`redemptions/ship-to.ts`) so the linked-accounts detector can count the members that ship
 * to one address (guardrails/redemption.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE redemptions ADD COLUMN ship_to jsonb, ADD COLUMN ship_address_key text;
    CREATE INDEX redemptions_ship_address ON redemptions (ship_address_key, member_id)
      WHERE ship_address_key IS NOT NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX redemptions_ship_address;
    ALTER TABLE redemptions DROP COLUMN ship_to, DROP COLUMN ship_address_key`);
}
