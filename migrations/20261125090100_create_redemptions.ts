import type { Knex } from 'knex';
import { redemptionStatuses } from '../domain/redemption';

/**
 * Redemptions as ops see them: one row per redemption (its workflow `redemption:<id>` is the
 * source of truth; the row is what lists and filters read), and its timeline, one row per step,
 * written once each by the workflow's `recordRedemption` activity. Out-of-stock substitutions
 * (what was offered, who decided what, when and why). Gift cards issued for
 * redemptions, and each gift-card provider's float as its answers last reported it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('redemptions', (t) => {
    t.text('id').primary().comment('The business key: the workflow is redemption:<id>.');
    t.uuid('member_id').notNullable().references('members.id');
    t.text('reward_id').notNullable();
    t.integer('quantity').notNullable();
    t.boolean('backorder').notNullable().defaultTo(false).comment('Wait for stock, not a refund.');
    t.text('request_hash').notNullable().comment('What was asked, to tell a repeat from a clash.');
    t.text('status').notNullable();
    t.text('tier');
    t.integer('points');
    t.integer('priority');
    t.text('reason');
    t.text('actor').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['status', 'created_at']);
    t.index(['member_id', 'created_at']);
  });
  await knex.raw(`
    ALTER TABLE redemptions
      ADD CONSTRAINT redemptions_quantity_check CHECK (quantity > 0),
      ADD CONSTRAINT redemptions_status_check CHECK (status IN (${redemptionStatuses
        .map((s) => `'${s}'`)
        .join(', ')}))`);

  await knex.schema.createTable('redemption_steps', (t) => {
    t.text('redemption_id').notNullable().references('redemptions.id');
    t.integer('seq').notNullable().comment('The step number in the workflow: written once.');
    t.text('step').notNullable();
    t.jsonb('detail').notNullable().defaultTo('{}');
    t.timestamp('at', { useTz: true }).notNullable();
    t.primary(['redemption_id', 'seq']);
  });

  await knex.schema.createTable('substitutions', (t) => {
    t.text('redemption_id').primary().references('redemptions.id');
    t.uuid('member_id').notNullable().references('members.id');
    t.text('reward_id').notNullable();
    t.text('mode').notNullable();
    t.jsonb('candidates')
      .notNullable()
      .comment('The substitutes on offer, closest in value first.');
    t.text('status').notNullable();
    t.text('chosen_sku');
    t.text('decided_by').comment('Who decided: an ops key, the policy, or the deadline.');
    t.text('reason');
    t.timestamp('deadline_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('decided_at', { useTz: true });
    t.index(['status', 'created_at']);
  });
  await knex.raw(`
    ALTER TABLE substitutions ADD CONSTRAINT substitutions_status_check
      CHECK (status IN ('pending', 'approved', 'rejected', 'timed_out', 'no_candidates'))`);

  await knex.schema.createTable('gift_cards', (t) => {
    t.text('redemption_id').primary().references('redemptions.id');
    t.text('provider').notNullable();
    t.text('card_id').notNullable();
    t.text('code').notNullable();
    t.decimal('denomination', 12, 2).notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    t.timestamp('issued_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('giftcard_floats', (t) => {
    t.text('provider').primary();
    t.decimal('balance', 14, 2).notNullable();
    t.specificType('currency', 'char(3)');
    t.timestamp('low_since', { useTz: true }).comment(
      'Set while the float is under the threshold.',
    );
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('giftcard_floats');
  await knex.schema.dropTable('gift_cards');
  await knex.schema.dropTable('substitutions');
  await knex.schema.dropTable('redemption_steps');
  await knex.schema.dropTable('redemptions');
}
