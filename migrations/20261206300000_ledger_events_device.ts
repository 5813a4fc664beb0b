import type { Knex } from 'knex';

/**
 * Linked accounts by device (guardrails/accrual.ts): the members whose events named one device id.
 * Partial: only events that carry a `deviceId` (optional, so few) are in it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX ledger_events_device ON ledger_events ((payload->>'deviceId'), member_id)
      WHERE payload->>'deviceId' IS NOT NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX ledger_events_device');
}
