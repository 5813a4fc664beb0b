import type { Knex } from 'knex';

/**
 * A gift card's status as its provider's signed callbacks report it (`/callbacks/giftcards`), and
 * when that happened by the provider's clock (an older report never overwrites a newer one).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('gift_cards', (t) => {
    t.text('status').notNullable().defaultTo('issued');
    t.timestamp('status_at', { useTz: true }).comment('When the provider says the status began.');
    t.index(['card_id']);
  });
  await knex.raw(`ALTER TABLE gift_cards ADD CONSTRAINT gift_cards_status_check
    CHECK (status IN ('issued', 'activated', 'redeemed', 'voided'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('gift_cards', (t) => {
    t.dropIndex(['card_id']);
    t.dropColumn('status_at');
    t.dropColumn('status');
  });
}
