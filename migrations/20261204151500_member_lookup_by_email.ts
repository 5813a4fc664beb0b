import type { Knex } from 'knex';

/**
 * Support looks a member up by email (`GET /members?email=` or `?q=`), in any letter case: an
 * index on the lowercased address, so the lookup stays an index scan on a large programme.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX members_email_lower ON members (lower(email))');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX members_email_lower');
}
