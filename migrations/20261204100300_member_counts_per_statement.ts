import type { Knex } from 'knex';

/**
 * Member counts (20261204100000) are fed on insert and delete by a statement trigger, one change
 * row per (status, tier) a statement touched, instead of a row trigger per member: a bulk import
 * of 5,000 members per statement appends a handful of rows, not 5,000. Status and tier changes
 * stay a row trigger (Postgres allows no transition table on a trigger with a column list), which
 * fires only when one of them changes.
 */
const perStatement = (name: string, op: 'INSERT' | 'DELETE', rows: string, sign: string) => `
  CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO member_counts_changes SELECT status, tier, ${sign}count(*) FROM ${rows} GROUP BY 1, 2;
    RETURN NULL;
  END $$;
  CREATE TRIGGER ${name} AFTER ${op} ON members REFERENCING ${op === 'INSERT' ? 'NEW' : 'OLD'}
    TABLE AS ${rows} FOR EACH STATEMENT EXECUTE FUNCTION ${name}();`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER members_counted_insert ON members;
    ${perStatement('members_counted_added', 'INSERT', 'added', '')}
    ${perStatement('members_counted_removed', 'DELETE', 'removed', '-')}`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER members_counted_removed ON members;
    DROP FUNCTION members_counted_removed();
    DROP TRIGGER members_counted_added ON members;
    DROP FUNCTION members_counted_added();
    CREATE TRIGGER members_counted_insert AFTER INSERT OR DELETE ON members
      FOR EACH ROW EXECUTE FUNCTION member_counts_collect();`);
}
