import path from 'node:path';
import knex, { type Knex } from 'knex';
import pg from 'pg';

export type Db = Knex;
export type Trx = Knex.Transaction;

// Points and ids are bigint columns whose values stay far below 2^53, and money is numeric(14,2):
// read both as numbers rather than strings.
pg.types.setTypeParser(pg.types.builtins.INT8, Number);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, Number);

export function createDb(options: { url: string; poolMax: number }): Db {
  return knex({
    client: 'pg',
    connection: options.url,
    pool: { min: 0, max: options.poolMax },
  });
}

/**
 * Migrations live in `migrations/` beside this folder, as `.ts` under tsx and `.js` once compiled
 * to `dist/`: load whichever kind this module itself is.
 */
export function migrationConfig(): Knex.MigratorConfig {
  const extension = path.extname(__filename);
  return {
    directory: path.join(__dirname, '..', 'migrations'),
    loadExtensions: [extension],
    tableName: 'knex_migrations',
  };
}

export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(migrationConfig())) as [number, string[]];
  return applied;
}

/** `postgres://user:secret@host/db` without the secret, for logs and messages. */
export function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
