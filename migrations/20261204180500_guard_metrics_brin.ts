import type { Knex } from 'knex';

/**
 * A launch's guard figures read the ledger events, ledger entries and redemptions of a few days
 * by `created_at` (changes/guard-metrics.ts), every few minutes of a monitoring window. These
 * tables are written in time order, so a BRIN index (a few pages, next to nothing per insert)
 * finds a window's block range without a B-tree's cost on every write.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX ledger_events_created_brin ON ledger_events USING brin (created_at);
    CREATE INDEX ledger_entries_created_brin ON ledger_entries USING brin (created_at);
    CREATE INDEX redemptions_created_brin ON redemptions USING brin (created_at);`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX redemptions_created_brin;
    DROP INDEX ledger_entries_created_brin;
    DROP INDEX ledger_events_created_brin;`);
}
