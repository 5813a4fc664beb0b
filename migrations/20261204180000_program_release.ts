import type { Knex } from 'knex';

/**
 * Which program version is in force for whom. Until now the newest `rule_sets` row was in force
 * for everyone the moment it was written; from here a version is written first and put in force
 * on purpose (a rule change's activation, a launch's cohort, its promotion or rollback).
 *
 * - `program_release` (one row): the version in force for everyone (`general_version`) and, while
 *   a launch soft-launches, the cohort's version: members whose stable hash bucket falls under
 *   `cohort_percent`, and members named in `release_cohort_members`.
 * - `loyalty_cohort_bucket(salt, member)`: 0..9999 from md5(salt:member), the same bucket for the
 *   same member and launch after any pause or resume (mirrored in `ledger/releases.ts`).
 * - `loyalty_rule_version(member)`: the version in force for one member, for the ledger's writers.
 * - `change_audit`: every transition of a rule change, simulation or launch: who, when, why.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('program_release', (t) => {
    t.integer('id').primary().defaultTo(1);
    t.integer('general_version').notNullable().references('rule_sets.version');
    t.integer('cohort_version').references('rule_sets.version');
    t.text('cohort_launch_id');
    t.decimal('cohort_percent', 5, 2).notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE program_release
    ADD CONSTRAINT program_release_one_row CHECK (id = 1),
    ADD CONSTRAINT program_release_percent CHECK (cohort_percent >= 0 AND cohort_percent <= 100),
    ADD CONSTRAINT program_release_cohort CHECK ((cohort_version IS NULL) = (cohort_launch_id IS NULL))`);
  await knex.raw(
    `INSERT INTO program_release (id, general_version) SELECT 1, max(version) FROM rule_sets
     HAVING max(version) IS NOT NULL`,
  );

  await knex.schema.createTable('release_cohort_members', (t) => {
    t.text('launch_id').notNullable();
    t.uuid('member_id').notNullable().references('members.id');
    t.primary(['launch_id', 'member_id']);
  });

  await knex.raw(`
    CREATE FUNCTION loyalty_cohort_bucket(salt text, member text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT (('x' || substr(md5(salt || ':' || member), 1, 8))::bit(32)::bigint % 10000)::integer
    $$`);
  await knex.raw(`
    CREATE FUNCTION loyalty_rule_version(member uuid) RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
      SELECT CASE
        WHEN r.cohort_version IS NOT NULL AND (
          loyalty_cohort_bucket(r.cohort_launch_id, member::text) < r.cohort_percent * 100
          OR EXISTS (SELECT 1 FROM release_cohort_members c
                     WHERE c.launch_id = r.cohort_launch_id AND c.member_id = member))
        THEN r.cohort_version ELSE r.general_version END
      FROM program_release r WHERE r.id = 1
    $$`);

  await knex.schema.createTable('change_audit', (t) => {
    t.bigIncrements('id').primary();
    t.text('subject').notNullable(); // 'rule-change' | 'simulation' | 'launch'
    t.text('subject_id').notNullable();
    t.text('action').notNullable();
    t.text('from_state');
    t.text('to_state');
    t.text('actor').notNullable();
    t.text('reason');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['subject', 'subject_id', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('change_audit');
  await knex.raw('DROP FUNCTION loyalty_rule_version(uuid)');
  await knex.raw('DROP FUNCTION loyalty_cohort_bucket(text, text)');
  await knex.schema.dropTable('release_cohort_members');
  await knex.schema.dropTable('program_release');
}
