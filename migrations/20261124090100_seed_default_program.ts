import type { Knex } from 'knex';
import { defaultProgram, programSchema } from '../domain/program';

/** Rule set version 1: the default program, so a fresh install can earn points at once. */
export async function up(knex: Knex): Promise<void> {
  await knex('rule_sets')
    .insert({
      version: 1,
      program: JSON.stringify(programSchema.parse(defaultProgram)),
      description: 'Default program',
      created_by: 'migration',
    })
    .onConflict('version')
    .ignore();
}

export async function down(knex: Knex): Promise<void> {
  await knex('rule_sets').where({ version: 1, created_by: 'migration' }).delete();
}
