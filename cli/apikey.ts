/** `npm run apikey -- --role <role> --name <name>`: creates an API key and prints it once. */
import { parseArgs } from 'node:util';
import { createApiKey } from '../api/keys';
import { loadConfigOrExit } from '../config';
import { createDb } from '../infra/db';
import { isRole, roles } from '../domain/roles';

const usage = `usage: npm run apikey -- --role <${roles.join('|')}> --name <who or what uses it>`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(64); // EX_USAGE
}

async function main(): Promise<void> {
  let values: { role?: string | undefined; name?: string | undefined };
  try {
    ({ values } = parseArgs({
      options: { role: { type: 'string' }, name: { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  const { role, name } = values;
  if (!role) fail('--role is required');
  if (!isRole(role)) fail(`--role must be one of ${roles.join(', ')}; got '${role}'`);
  if (!name?.trim()) fail('--name is required');

  const config = loadConfigOrExit();
  const db = createDb({ url: config.DATABASE_URL, poolMax: 1 });
  try {
    const { id, key } = await createApiKey(db, { role, name: name.trim() });
    process.stderr.write(`Created ${role} key '${name.trim()}' (id ${id}). It is shown once:\n`);
    process.stdout.write(`${key}\n`);
  } finally {
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`apikey failed: ${(err as Error).message}\n`);
  process.exit(1);
});
