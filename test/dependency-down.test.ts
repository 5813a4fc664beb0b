/**
 * A dependency that is down is a 503 naming it, with `Retry-After`, not a 500: the app runs on its
 * own embedded Postgres, which is then stopped under it (the API key still cached, so the routes'
 * own queries are what fails); and a Temporal client pointed at nothing.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../api/app';
import { createApiKey } from '../api/keys';
import { loadConfig } from '../config';
import { createDb, migrateLatest } from '../infra/db';
import { dependencyDownOf } from '../infra/dependency-down';
import { createLogger } from '../infra/logger';
import { createTemporalClient } from '../infra/temporal';
import { freePort } from '../stack/ports';
import { startEmbeddedPostgres } from '../stack/services';
import { Supervisor } from '../stack/supervisor';

const memberId = '00000000-0000-4000-8000-000000000001';
const redemptionId = '00000000-0000-4000-8000-000000000002';

describe('a dependency that is down', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loyalty-ops-down-'));
  const supervisor = new Supervisor(path.join(dir, 'pids.json'));
  let base = '';
  let key = '';
  let close = async (): Promise<void> => {};

  before(async () => {
    const url = await startEmbeddedPostgres(supervisor, {
      root: path.join(dir, 'postgres'),
      port: await freePort(),
      password: 'down',
      database: 'loyalty_down',
      fast: true,
      output: 'on-failure',
    });
    const config = loadConfig({ ...process.env, DATABASE_URL: url, API_KEY_CACHE_SECONDS: '300' });
    const db = createDb({ url, poolMax: 2 });
    await migrateLatest(db);
    key = (await createApiKey(db, { name: 'down', role: 'admin' })).key;
    const { app } = createApp({
      config,
      db,
      temporal: createTemporalClient(config),
      logger: createLogger({ level: 'silent', name: 'down' }),
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = async () => {
      server.closeAllConnections();
      server.close();
      await db.destroy();
    };
  });
  after(async () => {
    await close();
    await supervisor.stopAll(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = (method: string, route: string, body?: unknown) =>
    fetch(`${base}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('Postgres stopped: POST /events, POST /redemptions and GET /redemptions/:id are 503 naming it', async () => {
    // Up: an unknown redemption is a 404 (and the key is now cached).
    assert.equal((await call('GET', `/redemptions/${redemptionId}`)).status, 404);
    await supervisor.stopAll(() => {});

    const requests: [string, string, unknown?][] = [
      ['POST', '/events', { type: 'referral', eventId: 'down-1', memberId, reference: 'f-1' }],
      ['POST', '/redemptions', { memberId, rewardId: 'MUG-1' }],
      ['GET', `/redemptions/${redemptionId}`],
    ];
    for (const [method, route, body] of requests) {
      const res = await call(method, route, body);
      const text = await res.text();
      assert.equal(res.status, 503, `${method} ${route}: ${text}`);
      assert.equal(res.headers.get('retry-after'), '5', `${method} ${route}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const problem = JSON.parse(text) as Record<string, unknown>;
      assert.equal(problem.type, '/problems/unavailable');
      assert.equal(problem.dependency, 'postgres');
      assert.match(String(problem.detail), /^Postgres is unavailable; retry/);
      assert.doesNotMatch(text, /ECONNREFUSED|at .*\.ts|node_modules/);
    }
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 503);
    assert.equal(health.headers.get('retry-after'), '5');
  });

  it('Temporal unreachable is told apart as temporal', async () => {
    const config = loadConfig({
      ...process.env,
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    });
    const client = createTemporalClient(config);
    const err = await client.workflow
      .start('redemptionWorkflow', { taskQueue: 'none', workflowId: 'down-1' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err, 'a closed port answers nothing');
    assert.equal(dependencyDownOf(err), 'temporal');
    assert.equal(dependencyDownOf(new Error('relation "x" does not exist')), undefined);
    assert.equal(dependencyDownOf(new TypeError('fetch failed', { cause: err })), undefined);
  });
});
