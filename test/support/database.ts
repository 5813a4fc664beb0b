/**
 * A database of its own for a test file whose assertions read the whole programme (a launch's
 * readiness checks look at every webhook subscription, the float, every partner call): the
 * subscriptions failing and the cohorts opened by other files cannot touch it. Same Postgres
 * server, migrated, dropped afterwards.
 */
import { randomUUID } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { loadConfig } from '../../config';
import { createDb, migrateLatest } from '../../infra/db';

export async function freshDatabase(
  prefix = 'own',
): Promise<{ url: string; drop: () => Promise<void> }> {
  const serverUrl = loadConfig().DATABASE_URL;
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new PgClient({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = createDb({ url: url.toString(), poolMax: 1 });
  await migrateLatest(db).finally(() => db.destroy());
  return {
    url: url.toString(),
    drop: async () => {
      const client = new PgClient({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
