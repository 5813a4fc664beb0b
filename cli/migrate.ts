/** `npm run migrate`: brings the database named by DATABASE_URL to the latest schema. */
import { loadConfigOrExit } from '../config';
import { createDb, migrateLatest, redactUrl } from '../infra/db';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const db = createDb({ url: config.DATABASE_URL, poolMax: 1 });
  try {
    const applied = await migrateLatest(db);
    process.stdout.write(
      applied.length
        ? `Applied ${applied.length} migration(s) to ${redactUrl(config.DATABASE_URL)}:\n${applied.map((m) => `  ${m}`).join('\n')}\n`
        : `${redactUrl(config.DATABASE_URL)} is up to date.\n`,
    );
  } finally {
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`migrate failed: ${(err as Error).message}\n`);
  process.exit(1);
});
