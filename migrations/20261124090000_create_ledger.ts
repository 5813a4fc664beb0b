import type { Knex } from 'knex';

/**
 * The points ledger. `ledger_entries` is append-only (a trigger refuses UPDATE and DELETE); lots,
 * holds and the balances on `members` are projections of it, kept in the same transaction and
 * checkable against it. The constraints state what must never happen: one effect per source
 * (`dedupe_key`), no lot below zero, no balance below zero (so no hold beyond what is available).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rule_sets', (t) => {
    t.integer('version').primary();
    t.jsonb('program').notNullable();
    t.text('description');
    t.text('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.alterTable('members', (t) => {
    t.bigInteger('available').notNullable().defaultTo(0);
    t.bigInteger('pending').notNullable().defaultTo(0);
    t.bigInteger('held').notNullable().defaultTo(0);
    t.bigInteger('debt').notNullable().defaultTo(0);
    t.timestamp('last_activity_at', { useTz: true });
    t.timestamp('tier_period_ends_at', { useTz: true });
    t.timestamp('tier_grace_ends_at', { useTz: true });
    t.timestamp('closed_at', { useTz: true });
    t.timestamp('lifecycle_wake_at', { useTz: true });
  });
  await knex.raw(`
    ALTER TABLE members
      ADD CONSTRAINT members_available_check CHECK (available >= 0),
      ADD CONSTRAINT members_pending_check CHECK (pending >= 0),
      ADD CONSTRAINT members_held_check CHECK (held >= 0),
      ADD CONSTRAINT members_debt_check CHECK (debt >= 0)`);

  await knex.schema.createTable('ledger_events', (t) => {
    t.text('id').primary().comment('The client-given event id: one effect per id.');
    t.uuid('member_id').notNullable().references('members.id');
    t.text('type').notNullable();
    t.text('order_id');
    t.text('request_hash').notNullable();
    t.jsonb('payload').notNullable();
    t.jsonb('response').notNullable();
    t.integer('rule_version').notNullable().references('rule_sets.version');
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['member_id', 'created_at']);
  });
  await knex.raw(
    `CREATE UNIQUE INDEX ledger_events_purchase_order ON ledger_events (order_id) WHERE type = 'purchase'`,
  );

  await knex.schema.createTable('purchase_lines', (t) => {
    t.text('event_id').notNullable().references('ledger_events.id').deferrable('deferred');
    t.text('sku').notNullable();
    t.text('category').notNullable();
    t.integer('quantity').notNullable();
    t.decimal('amount', 14, 2).notNullable();
    t.bigInteger('points').notNullable();
    t.integer('returned_quantity').notNullable().defaultTo(0);
    t.bigInteger('reversed_points').notNullable().defaultTo(0);
    t.primary(['event_id', 'sku']);
  });
  await knex.raw(`
    ALTER TABLE purchase_lines
      ADD CONSTRAINT purchase_lines_returned_check
        CHECK (returned_quantity >= 0 AND returned_quantity <= quantity),
      ADD CONSTRAINT purchase_lines_reversed_check
        CHECK (reversed_points >= 0 AND reversed_points <= points)`);

  await knex.schema.createTable('ledger_entries', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('member_id').notNullable().references('members.id');
    t.text('kind').notNullable();
    t.bigInteger('amount')
      .notNullable()
      .comment('Change of the member total: available + pending + held - debt.');
    t.bigInteger('available_delta').notNullable().defaultTo(0);
    t.bigInteger('pending_delta').notNullable().defaultTo(0);
    t.bigInteger('held_delta').notNullable().defaultTo(0);
    t.bigInteger('debt_delta').notNullable().defaultTo(0);
    t.bigInteger('qualifying').notNullable().defaultTo(0).comment('Tier-qualifying points.');
    t.text('reason').notNullable();
    t.text('actor').notNullable();
    // Deferred: an event's row is written last, with the answer its effects produced.
    t.text('source_event_id').references('ledger_events.id').deferrable('deferred');
    t.text('hold_id');
    t.text('dedupe_key').notNullable().unique();
    t.integer('rule_version').references('rule_sets.version');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['member_id', 'id']);
    t.index(['member_id', 'created_at']);
  });
  await knex.raw(`
    ALTER TABLE ledger_entries
      ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN ('accrual', 'activation', 'hold',
        'redemption', 'release', 'reversal', 'expiry', 'adjustment')),
      ADD CONSTRAINT ledger_entries_amount_check
        CHECK (amount = available_delta + pending_delta + held_delta - debt_delta)`);
  await knex.raw(`
    CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'ledger_entries is append-only: % refused', TG_OP;
    END $$;
    CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
      FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();`);

  await knex.schema.createTable('lots', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('member_id').notNullable().references('members.id');
    t.bigInteger('entry_id').notNullable().references('ledger_entries.id');
    t.text('status').notNullable().comment('pending until activates_at, then active');
    t.bigInteger('original').notNullable();
    t.bigInteger('remaining').notNullable();
    t.timestamp('activates_at', { useTz: true });
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('reminded_for', { useTz: true }).comment('The expiry date last reminded of.');
    t.timestamp('created_at', { useTz: true }).notNullable();
  });
  await knex.raw(`
    ALTER TABLE lots
      ADD CONSTRAINT lots_status_check CHECK (status IN ('pending', 'active')),
      ADD CONSTRAINT lots_remaining_check CHECK (remaining >= 0 AND remaining <= original);
    CREATE INDEX lots_open ON lots (member_id, expires_at, id) WHERE remaining > 0;
    CREATE INDEX lots_entry ON lots (entry_id);`);

  await knex.schema.createTable('lot_movements', (t) => {
    t.bigInteger('entry_id').notNullable().references('ledger_entries.id');
    t.bigInteger('lot_id').notNullable().references('lots.id');
    t.bigInteger('delta').notNullable();
    t.primary(['entry_id', 'lot_id']);
    t.index(['lot_id']);
  });

  await knex.schema.createTable('holds', (t) => {
    t.text('id').primary().comment('The business key of what holds the points (a redemption).');
    t.uuid('member_id').notNullable().references('members.id');
    t.bigInteger('amount').notNullable();
    t.text('status').notNullable();
    t.text('reason').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('settled_at', { useTz: true });
  });
  await knex.raw(`
    ALTER TABLE holds
      ADD CONSTRAINT holds_amount_check CHECK (amount > 0),
      ADD CONSTRAINT holds_status_check CHECK (status IN ('held', 'released', 'redeemed'))`);
  await knex.schema.createTable('hold_allocations', (t) => {
    t.text('hold_id').notNullable().references('holds.id');
    t.bigInteger('lot_id').notNullable().references('lots.id');
    t.bigInteger('amount').notNullable();
    t.primary(['hold_id', 'lot_id']);
  });
  await knex.raw(
    `ALTER TABLE hold_allocations ADD CONSTRAINT hold_allocations_amount_check CHECK (amount > 0)`,
  );

  await knex.schema.createTable('earning_counters', (t) => {
    t.uuid('member_id').notNullable().references('members.id');
    t.text('period').notNullable().comment('D2026-11-23 or M2026-11 (UTC)');
    t.text('event_type').notNullable().comment('* for all types');
    t.bigInteger('points').notNullable();
    t.primary(['member_id', 'period', 'event_type']);
  });

  await knex.schema.createTable('idempotency_keys', (t) => {
    t.text('owner').notNullable().comment('The API key id: keys are scoped per caller.');
    t.text('key').notNullable();
    t.text('request_hash').notNullable();
    t.integer('status_code');
    t.jsonb('response');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['owner', 'key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'idempotency_keys',
    'earning_counters',
    'hold_allocations',
    'holds',
    'lot_movements',
    'lots',
  ])
    await knex.schema.dropTable(table);
  await knex.raw('DROP TRIGGER ledger_entries_append_only ON ledger_entries');
  await knex.raw('DROP FUNCTION ledger_entries_append_only()');
  for (const table of ['ledger_entries', 'purchase_lines', 'ledger_events'])
    await knex.schema.dropTable(table);
  await knex.schema.alterTable('members', (t) => {
    t.dropChecks([
      'members_available_check',
      'members_pending_check',
      'members_held_check',
      'members_debt_check',
    ]);
    t.dropColumns(
      'available',
      'pending',
      'held',
      'debt',
      'last_activity_at',
      'tier_period_ends_at',
      'tier_grace_ends_at',
      'closed_at',
      'lifecycle_wake_at',
    );
  });
  await knex.schema.dropTable('rule_sets');
}
