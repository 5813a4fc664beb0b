import type { Knex } from 'knex';

/**
 * A member's lots by status and a member's open holds, for the audit and the member reads: without
 * them `GET /members/:id/audit` scanned every lot of every member (two sequential scans of `lots`
 * and one of `holds` per audit; bench/ledger-scale.ts). Built CONCURRENTLY, outside a
 * transaction, so an upgrade does not block writes to a big ledger while they build.
 */
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX CONCURRENTLY IF NOT EXISTS lots_member_status
      ON lots (member_id, status) INCLUDE (remaining)`);
  await knex.raw(`
    CREATE INDEX CONCURRENTLY IF NOT EXISTS holds_member_held
      ON holds (member_id) WHERE status = 'held'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX CONCURRENTLY IF EXISTS holds_member_held');
  await knex.raw('DROP INDEX CONCURRENTLY IF EXISTS lots_member_status');
}
