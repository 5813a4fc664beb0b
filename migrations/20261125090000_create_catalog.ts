import type { Knex } from 'knex';

/**
 * The rewards catalog: rewards, the stock of physical ones, the reservations redemptions hold on
 * it, and pools of coupon codes. The constraints state what must never happen: stock below zero,
 * more reserved than is on hand (so no overselling, whoever writes), two reservations for one
 * redemption, one coupon code given to two redemptions, a gift card without provider or value.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rewards', (t) => {
    t.text('id').primary().comment('The SKU or business key of the reward.');
    t.text('kind').notNullable();
    t.text('name').notNullable();
    t.text('category').notNullable();
    t.integer('points_cost').notNullable();
    t.decimal('cash_value', 12, 2).notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    t.specificType('tiers_allowed', 'text[]')
      .notNullable()
      .defaultTo('{}')
      .comment('Tiers that may redeem it; empty: every tier.');
    t.jsonb('substitution')
      .notNullable()
      .defaultTo(
        JSON.stringify({
          mode: 'none',
          sameCategory: true,
          cashValueBand: 0.2,
          approvalDeadline: '2 days',
          reminderBefore: '1 day',
        }),
      )
      .comment('Substitution policy (domain/rewards.ts substitutionSchema).');
    t.text('provider').comment('Gift cards: the issuing provider.');
    t.decimal('denomination', 12, 2).comment("Gift cards: the card's face value.");
    t.boolean('active').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['category', 'cash_value']);
  });
  await knex.raw(`
    ALTER TABLE rewards
      ADD CONSTRAINT rewards_id_check CHECK (id ~ '^[A-Za-z0-9._:@/-]{1,128}$'),
      ADD CONSTRAINT rewards_kind_check CHECK (kind IN ('physical', 'gift_card', 'coupon')),
      ADD CONSTRAINT rewards_points_cost_check CHECK (points_cost > 0),
      ADD CONSTRAINT rewards_cash_value_check CHECK (cash_value >= 0),
      ADD CONSTRAINT rewards_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
      ADD CONSTRAINT rewards_substitution_check CHECK (jsonb_typeof(substitution) = 'object'
        AND substitution->>'mode' IN ('none', 'auto', 'approval')),
      ADD CONSTRAINT rewards_gift_card_check CHECK (kind <> 'gift_card'
        OR (provider IS NOT NULL AND denomination IS NOT NULL AND denomination > 0))`);

  await knex.schema.createTable('inventory', (t) => {
    t.text('sku').primary().references('rewards.id');
    t.integer('on_hand').notNullable().defaultTo(0);
    t.integer('reserved').notNullable().defaultTo(0);
    t.specificType('available', 'integer GENERATED ALWAYS AS (on_hand - reserved) STORED');
    t.integer('threshold').notNullable().defaultTo(0).comment('Replenish when available < this.');
    t.timestamp('replenishment_requested_at', { useTz: true }).comment(
      'Set when a replenishment was requested; cleared when stock arrives.',
    );
    t.integer('replenishment_requests')
      .notNullable()
      .defaultTo(0)
      .comment('Low-stock episodes so far: numbers each request, so it is made once.');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`
    ALTER TABLE inventory
      ADD CONSTRAINT inventory_on_hand_check CHECK (on_hand >= 0),
      ADD CONSTRAINT inventory_reserved_check CHECK (reserved >= 0 AND reserved <= on_hand),
      ADD CONSTRAINT inventory_threshold_check CHECK (threshold >= 0)`);

  await knex.schema.createTable('stock_reservations', (t) => {
    t.text('redemption_id').primary().comment('One reservation per redemption.');
    t.text('sku').notNullable().references('inventory.sku');
    t.integer('quantity').notNullable();
    t.text('status').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['sku', 'status']);
  });
  await knex.raw(`
    ALTER TABLE stock_reservations
      ADD CONSTRAINT stock_reservations_quantity_check CHECK (quantity > 0),
      ADD CONSTRAINT stock_reservations_status_check
        CHECK (status IN ('reserved', 'released', 'shipped', 'returned'))`);

  await knex.schema.createTable('coupon_codes', (t) => {
    t.text('reward_id').notNullable().references('rewards.id');
    t.text('code').notNullable();
    t.text('redemption_id').unique().comment('Who has the code; null: still in the pool.');
    t.timestamp('assigned_at', { useTz: true });
    t.timestamp('imported_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['reward_id', 'code']);
  });
  await knex.raw(`
    ALTER TABLE coupon_codes ADD CONSTRAINT coupon_codes_assigned_check
      CHECK ((redemption_id IS NULL) = (assigned_at IS NULL));
    CREATE INDEX coupon_codes_pool ON coupon_codes (reward_id, imported_at, code)
      WHERE redemption_id IS NULL;`);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['coupon_codes', 'stock_reservations', 'inventory', 'rewards'])
    await knex.schema.dropTable(table);
}
