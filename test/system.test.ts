import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../api/app';
import { createDb } from '../infra/db';
import { createLogger } from '../infra/logger';
import { createTemporalClient } from '../infra/temporal';
import { freePort } from '../stack/ports';
import { startTestContext, uniqueId, type TestContext } from './support/context';

/** The app wired to a Postgres and/or Temporal that is not there. */
async function appWithDeadDependency(t: TestContext, dead: 'postgres' | 'temporal') {
  const port = await freePort();
  const config = {
    ...t.config,
    ...(dead === 'temporal' ? { TEMPORAL_ADDRESS: `127.0.0.1:${port}` } : {}),
    ...(dead === 'postgres'
      ? { DATABASE_URL: `postgres://postgres:x@127.0.0.1:${port}/none` }
      : {}),
  };
  const db = createDb({ url: config.DATABASE_URL, poolMax: 1 });
  const temporal = dead === 'temporal' ? createTemporalClient(config) : t.env.client;
  const { app } = createApp({
    config,
    db,
    temporal,
    logger: createLogger({ level: 'silent', name: 'x' }),
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await db.destroy();
    },
  };
}

describe('health, metrics and the error shape', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('system');
  });
  after(async () => {
    await t.stop();
  });

  it('GET /health is 200 when Postgres and Temporal answer', async () => {
    const res = await t.api('GET', '/health', { key: null });
    assert.equal(res.status, 200);
    assert.equal(res.body.checks.postgres.status, 'up');
    assert.equal(res.body.checks.temporal.status, 'up');
  });

  for (const dead of ['postgres', 'temporal'] as const) {
    it(`GET /health is a 503 problem naming ${dead} when it is down`, async () => {
      const app = await appWithDeadDependency(t, dead);
      try {
        const res = await fetch(`${app.base}/health`);
        assert.equal(res.status, 503);
        assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
        const body = (await res.json()) as {
          detail: string;
          checks: Record<string, { status: string }>;
        };
        assert.match(body.detail, new RegExp(`^Down: ${dead} `));
        assert.equal(body.checks[dead]?.status, 'down');
        const alive = dead === 'postgres' ? 'temporal' : 'postgres';
        assert.equal(body.checks[alive]?.status, 'up');
      } finally {
        await app.close();
      }
    });
  }

  it('a refused Postgres is a 503 naming it, with Retry-After and no internals', async () => {
    const app = await appWithDeadDependency(t, 'postgres');
    try {
      const res = await fetch(`${app.base}/members/00000000-0000-4000-8000-000000000000`, {
        headers: { authorization: `Bearer ${t.keys.admin}` },
      });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '5');
      const text = await res.text();
      assert.equal((JSON.parse(text) as { dependency: string }).dependency, 'postgres');
      assert.doesNotMatch(text, /ECONNREFUSED|at .*\.ts|node_modules/);
    } finally {
      await app.close();
    }
  });

  it('an unexpected failure is a 500 problem with no stack trace or internals', async () => {
    // A database without the schema: every query fails, and not for a dependency being down.
    const admin = createDb({ url: t.config.DATABASE_URL, poolMax: 1 });
    const name = `loyalty_empty_${process.pid}`;
    await admin.raw(`CREATE DATABASE ${name}`);
    const emptyUrl = new URL(t.config.DATABASE_URL);
    emptyUrl.pathname = `/${name}`;
    const db = createDb({ url: emptyUrl.toString(), poolMax: 1 });
    const { app } = createApp({
      config: t.config,
      db,
      temporal: t.env.client,
      logger: createLogger({ level: 'silent', name: 'x' }),
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await fetch(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/members/00000000-0000-4000-8000-000000000000`,
        { headers: { authorization: `Bearer ${t.keys.admin}` } },
      );
      assert.equal(res.status, 500);
      const text = await res.text();
      assert.deepEqual(Object.keys(JSON.parse(text) as object).sort(), [
        'detail',
        'instance',
        'requestId',
        'status',
        'title',
        'type',
      ]);
      assert.doesNotMatch(text, /relation|at .*\.ts|node_modules/);
    } finally {
      server.closeAllConnections();
      server.close();
      await db.destroy();
      await admin.raw(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.destroy();
    }
  });

  it('GET /metrics serves Node defaults and request durations by route template and status', async () => {
    const member = await t.api('POST', '/members', { body: { externalId: uniqueId('m') } });
    await t.api('GET', `/members/${member.body.id}`);
    await t.api('GET', '/nowhere');
    const res = await t.api('GET', '/metrics', { key: null });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(res.body, /^process_cpu_user_seconds_total \d/m);
    assert.match(res.body, /^nodejs_heap_size_used_bytes \d/m);
    assert.match(
      res.body,
      /^http_request_duration_seconds_count\{method="POST",route="\/members",status_code="201"\} 1$/m,
    );
    assert.match(
      res.body,
      /^http_request_duration_seconds_count\{method="GET",route="\/members\/:id",status_code="200"\} 1$/m,
    );
    assert.match(
      res.body,
      /^http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} 1$/m,
    );
    assert.doesNotMatch(res.body, new RegExp(member.body.id as string), 'ids never become labels');
  });

  it('bad input gets one problem shape naming the field, and changes nothing', async () => {
    const externalId = uniqueId('bad');
    const cases: { send: Parameters<TestContext['api']>[2]; status: number; fields: string[] }[] = [
      {
        send: { rawBody: '{"externalId": ', headers: { 'content-type': 'application/json' } },
        status: 400,
        fields: ['(body)'],
      },
      {
        send: { rawBody: `externalId=${externalId}`, headers: { 'content-type': 'text/plain' } },
        status: 415,
        fields: [],
      },
      { send: { body: {} }, status: 422, fields: ['externalId'] },
      { send: { body: { externalId: 42 } }, status: 422, fields: ['externalId'] },
      { send: { body: { externalId: 'has spaces' } }, status: 422, fields: ['externalId'] },
      { send: { body: { externalId, email: 'not-an-email' } }, status: 422, fields: ['email'] },
      { send: { body: { externalId, nmae: 'typo' } }, status: 422, fields: ['nmae'] },
      { send: { body: [externalId] }, status: 422, fields: ['(body)'] },
    ];
    for (const { send, status, fields } of cases) {
      const res = await t.api('POST', '/members', send);
      assert.equal(res.status, status, JSON.stringify(send));
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(res.body.status, status);
      assert.equal(typeof res.body.title, 'string');
      assert.equal(typeof res.body.detail, 'string');
      assert.equal(
        res.body.type,
        `/problems/${{ 400: 'bad-request', 415: 'unsupported-media-type', 422: 'validation' }[status]}`,
      );
      assert.deepEqual(
        (res.body.errors ?? []).map((e: { field: string }) => e.field),
        fields,
      );
    }
    assert.equal((await t.db('members').where({ external_id: externalId })).length, 0);
  });

  it('unknown routes are 404 problems, and every response carries a request id', async () => {
    const res = await t.api('GET', '/nope', { headers: { 'x-request-id': 'trace-123' } });
    assert.equal(res.status, 404);
    assert.equal(res.body.type, '/problems/not-found');
    assert.equal(res.body.requestId, 'trace-123');
    assert.equal(res.headers.get('x-request-id'), 'trace-123');
  });
});
