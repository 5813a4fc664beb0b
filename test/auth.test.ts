import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { createApp } from '../api/app';
import { cachedKeyLookup, createApiKey, hashKey, type ApiKeyRow } from '../api/keys';
import { createLogger } from '../infra/logger';
import type { RouteSpec } from '../api/route';
import { roleAllows, roles } from '../domain/roles';
import { openApiPath } from '../api/openapi';
import { startTestContext, uniqueId, type TestContext } from './support/context';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');

/** A concrete URL for a route template: every path parameter gets a well-formed id. */
const concrete = (template: string): string =>
  template.replace(/:([A-Za-z0-9_]+)/g, '00000000-0000-4000-8000-000000000000');

describe('access: API keys and roles', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('auth');
  });
  after(async () => {
    await t.stop();
  });

  it('every non-public route refuses a missing, unknown or revoked key with 401', async () => {
    const protectedRoutes = t.app.routes.filter((r) => r.auth !== 'public');
    assert.ok(protectedRoutes.length >= 2);
    const revoked = await revokedKey(t);
    for (const route of protectedRoutes) {
      const url = concrete(route.path);
      for (const key of [null, 'lok_not-a-real-key', revoked]) {
        const res = await t.api(route.method.toUpperCase(), url, { key, body: bodyFor(route) });
        assert.equal(res.status, 401, `${route.method} ${route.path} with key ${key}`);
        assert.equal(res.body.type, '/problems/unauthorized');
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
    }
  });

  it("every non-public route refuses, with 403, each role it doesn't allow", async () => {
    let checked = 0;
    for (const route of t.app.routes.filter((r) => r.auth !== 'public')) {
      for (const role of roles.filter((r) => !roleAllows(r, route.auth as never))) {
        const res = await t.api(route.method.toUpperCase(), concrete(route.path), {
          key: t.keys[role],
          body: bodyFor(route),
        });
        assert.equal(res.status, 403, `${role} on ${route.method} ${route.path}`);
        assert.equal(res.body.type, '/problems/forbidden');
        checked++;
      }
    }
    assert.ok(checked > 0);
  });

  it('a refused enrolment changes nothing', async () => {
    const externalId = uniqueId('refused');
    for (const key of [null, t.keys.readonly, t.keys.partner]) {
      const res = await t.api('POST', '/members', { key, body: { externalId } });
      assert.ok([401, 403].includes(res.status));
    }
    assert.equal((await t.db('members').where({ external_id: externalId })).length, 0);
  });

  it('roles allow what they should: ops enrols, readonly reads, admin does both', async () => {
    const byOps = await t.api('POST', '/members', {
      key: t.keys.ops,
      body: { externalId: uniqueId('ok') },
    });
    assert.equal(byOps.status, 201);
    const byAdmin = await t.api('POST', '/members', {
      key: t.keys.admin,
      body: { externalId: uniqueId('ok') },
    });
    assert.equal(byAdmin.status, 201);
    for (const role of ['readonly', 'ops', 'admin'] as const) {
      const res = await t.api('GET', `/members/${byOps.body.id}`, { key: t.keys[role] });
      assert.equal(res.status, 200, role);
    }
  });

  it('public routes need no key', async () => {
    for (const route of t.app.routes.filter((r) => r.auth === 'public' && r.method === 'get')) {
      const res = await t.api('GET', route.path, { key: null });
      assert.ok(res.status < 400 || res.status === 503, `${route.path}: ${res.status}`);
    }
  });

  it('public routes that change something carry their own proof: unsigned is refused', async () => {
    const changing = t.app.routes.filter((r) => r.auth === 'public' && r.method !== 'get');
    assert.ok(changing.length >= 1);
    for (const route of changing) {
      assert.ok(route.verify, `${route.method} ${route.path} verifies its caller`);
      const res = await t.api(route.method.toUpperCase(), route.path, {
        key: t.keys.admin,
        body: { type: 'shipment.delivered', shipmentId: 'x' },
      });
      assert.ok([401, 503].includes(res.status), `${route.path}: ${res.status}`);
    }
  });

  it('every route in the OpenAPI document states the role it needs', () => {
    const paths = t.app.openApi.paths as Record<string, Record<string, Record<string, unknown>>>;
    for (const route of t.app.routes) {
      const op = paths[openApiPath(route.path)]?.[route.method];
      assert.ok(op, `${route.method} ${route.path} described`);
      if (route.auth === 'public') assert.deepEqual(op.security, []);
      else assert.equal(op['x-required-role'], route.auth);
    }
  });

  it('npm run apikey creates a working key, stored hashed, and refuses bad arguments', async () => {
    const name = uniqueId('cli');
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'cli/apikey.ts', '--role', 'ops', '--name', name],
      {
        cwd: root,
      },
    );
    const key = stdout.trim();
    assert.match(key, /^lok_[A-Za-z0-9_-]{43}$/);
    const row = await t.db<ApiKeyRow>('api_keys').where({ name }).first();
    assert.equal(row?.role, 'ops');
    assert.equal(row?.key_hash, hashKey(key));
    assert.ok(!JSON.stringify(row).includes(key), 'the plain key is not stored');
    const res = await t.api('POST', '/members', { key, body: { externalId: uniqueId('cli') } });
    assert.equal(res.status, 201);

    for (const [args, message] of [
      [['--role', 'owner', '--name', 'x'], /--role must be one of admin, ops, partner, readonly/],
      [['--name', 'x'], /--role is required/],
      [['--role', 'ops'], /--name is required/],
    ] as const) {
      const failed = await run(process.execPath, ['--import', 'tsx', 'cli/apikey.ts', ...args], {
        cwd: root,
      }).then(
        () => assert.fail(`accepted ${args.join(' ')}`),
        (err: { code: number; stderr: string }) => err,
      );
      assert.equal(failed.code, 64);
      assert.match(failed.stderr, message);
    }
  });
});

describe('API keys: remembered briefly, never logged', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('auth-cache');
  });
  after(async () => {
    await t.stop();
  });

  it('remembers a valid key for the TTL, so a revocation takes effect within it', async () => {
    let clock = 1_000_000;
    const find = cachedKeyLookup(t.db, 10_000, () => clock);
    const { id, key } = await createApiKey(t.db, { role: 'ops', name: uniqueId('cached') });
    assert.equal((await find(key))?.id, id);
    await t.db('api_keys').where({ id }).update({ revoked_at: t.db.fn.now() });
    clock += 9_999;
    assert.equal((await find(key))?.id, id, 'still remembered within the TTL');
    clock += 2;
    assert.equal(await find(key), undefined, 'revoked once the TTL has passed');
    assert.equal(await find(key), undefined);
  });

  it('never remembers an unknown key, so a key created later works at once', async () => {
    const find = cachedKeyLookup(t.db, 60_000);
    assert.equal(await find('lok_unknown'), undefined);
    const { id, key } = await createApiKey(t.db, { role: 'ops', name: uniqueId('new') });
    assert.equal((await find(key))?.id, id);
  });

  it('with a TTL of 0 looks the key up every time', async () => {
    const find = cachedKeyLookup(t.db, 0);
    const { id, key } = await createApiKey(t.db, { role: 'ops', name: uniqueId('uncached') });
    assert.equal((await find(key))?.id, id);
    await t.db('api_keys').where({ id }).update({ revoked_at: t.db.fn.now() });
    assert.equal(await find(key), undefined);
  });

  it('writes request logs without the Authorization header', async () => {
    let written = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written += chunk.toString();
        done();
      },
    });
    const logger = createLogger({ level: 'info', name: 'redaction' }, sink);
    const { app } = createApp({ config: t.config, db: t.db, temporal: t.env.client, logger });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/rule-sets/active`, {
        headers: { authorization: `Bearer ${t.keys.admin}`, cookie: 'session=secret-cookie' },
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const line = written.split('\n').find((l) => l.includes('/rule-sets/active'));
    assert.ok(line, `a request log line was written: ${written}`);
    const logged = JSON.parse(line) as { req: { headers: Record<string, string> } };
    assert.equal(logged.req.headers.authorization, '[redacted]');
    assert.equal(logged.req.headers.cookie, '[redacted]');
    assert.ok(!written.includes(t.keys.admin), 'the key appears nowhere in the log');
    assert.ok(!written.includes('secret-cookie'));
  });
});

const bodyFor = (route: RouteSpec): unknown => (route.method === 'get' ? undefined : {});

async function revokedKey(t: TestContext): Promise<string> {
  const { id, key } = await createApiKey(t.db, { role: 'admin', name: uniqueId('revoked') });
  await t.db('api_keys').where({ id }).update({ revoked_at: t.db.fn.now() });
  return key;
}
