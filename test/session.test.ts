import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createApiKey } from '../api/keys';
import type { SessionRow } from '../api/sessions';
import { startTestContext, uniqueId, type TestContext } from './support/context';

/** Signs in over HTTP; answers the cookie to send back and the session the API returned. */
async function signIn(t: TestContext, apiKey: string) {
  const res = await fetch(`${t.baseUrl}/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const setCookie = res.headers.getSetCookie();
  assert.equal(setCookie.length, 1);
  const cookie = setCookie[0]!.split(';')[0]!;
  return {
    setCookie: setCookie[0]!,
    cookie,
    body: (await res.json()) as { role: string; name: string; csrfToken: string },
  };
}

describe('console sessions: POST/GET/DELETE /session and the session cookie', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('session', { SESSION_TTL_MINUTES: 30 });
  });
  after(async () => {
    await t.stop();
  });

  it('an API key is exchanged for an HttpOnly, SameSite=Strict cookie; GET /session says who', async () => {
    const started = Date.now();
    const { setCookie, cookie, body } = await signIn(t, t.keys.ops);
    assert.match(setCookie, /^loyalty_session=los_[A-Za-z0-9_-]{43}; /);
    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; SameSite=Strict/);
    assert.match(setCookie, /; Path=\//);
    assert.match(setCookie, /; Max-Age=1800/);
    assert.doesNotMatch(setCookie, /Secure/, 'plain http: no Secure flag, or the browser drops it');
    assert.equal(body.role, 'ops');
    assert.equal(body.name, 'session-ops');

    const me = await t.api('GET', '/session', { key: null, headers: { cookie } });
    assert.equal(me.status, 200);
    assert.equal(me.body.name, 'session-ops');
    assert.equal(me.body.role, 'ops');
    assert.equal(me.body.csrfToken, body.csrfToken);
    const expires = Date.parse(me.body.expiresAt);
    assert.ok(expires >= started + 30 * 60_000 - 2000 && expires <= Date.now() + 30 * 60_000);
    assert.ok(me.body.allowedOperations.includes('cancelRedemption'));
    assert.ok(me.body.allowedOperations.includes('listRedemptions'));
    assert.ok(!me.body.allowedOperations.includes('createReward'), 'admin only');

    const token = cookie.split('=')[1]!;
    const rows = await t.db<SessionRow>('sessions').select();
    assert.ok(rows.length > 0);
    assert.ok(!JSON.stringify(rows).includes(token), 'the token is stored hashed only');
  });

  it('behind a proxy that terminates https, the cookie is Secure', async () => {
    const res = await t.api('POST', '/session', {
      key: null,
      body: { apiKey: t.keys.readonly },
      headers: { 'x-forwarded-proto': 'https' },
    });
    assert.equal(res.status, 201);
    assert.match(res.headers.getSetCookie()[0] ?? '', /; HttpOnly; SameSite=Strict; Secure; /);
  });

  it('a readonly session is told it may only read', async () => {
    const { cookie } = await signIn(t, t.keys.readonly);
    const me = await t.api('GET', '/session', { key: null, headers: { cookie } });
    assert.equal(me.body.role, 'readonly');
    assert.ok(me.body.allowedOperations.includes('getRedemption'));
    for (const op of ['redeem', 'cancelRedemption', 'returnRedemption', 'enrolMember']) {
      assert.ok(!me.body.allowedOperations.includes(op), op);
    }
  });

  it('a bad, missing or partner key gets a clear error naming apiKey, and no session', async () => {
    const before = await t.db('sessions').count<{ count: string }[]>({ count: '*' });
    for (const [body, status, message] of [
      [{ apiKey: 'lok_not-a-real-key' }, 401, 'unknown or revoked'],
      [{}, 401, 'is required'],
      [{ apiKey: t.keys.partner }, 403, 'partner keys cannot sign in'],
    ] as const) {
      const res = await t.api('POST', '/session', { key: null, body });
      assert.equal(res.status, status, JSON.stringify(body));
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.deepEqual(res.body.errors, [{ field: 'apiKey', message }]);
      assert.equal(res.headers.getSetCookie().length, 0);
    }
    const res = await t.api('POST', '/session', {
      key: null,
      body: { apiKey: 'x', role: 'admin' },
    });
    assert.equal(res.status, 422);
    assert.equal(res.body.errors[0].field, 'role');
    const afterwards = await t.db('sessions').count<{ count: string }[]>({ count: '*' });
    assert.deepEqual(afterwards, before);
  });

  it('the cookie passes the same role checks as a key: readonly may read, not write', async () => {
    const { cookie, body } = await signIn(t, t.keys.readonly);
    const list = await t.api('GET', '/redemptions', { key: null, headers: { cookie } });
    assert.equal(list.status, 200);
    const externalId = uniqueId('ro');
    const res = await t.api('POST', '/members', {
      key: null,
      headers: { cookie, 'x-csrf-token': body.csrfToken },
      body: { externalId },
    });
    assert.equal(res.status, 403);
    assert.equal(res.body.type, '/problems/forbidden');
    assert.equal(await t.db('members').where({ external_id: externalId }).first(), undefined);
  });

  it('a cookie-only POST without the X-CSRF-Token header, or from another origin, is refused', async () => {
    const { cookie, body } = await signIn(t, t.keys.ops);
    const externalId = uniqueId('csrf');
    const attempts: Record<string, string>[] = [
      { cookie },
      { cookie, 'x-csrf-token': 'not-the-token' },
      { cookie, 'x-csrf-token': body.csrfToken, origin: 'http://evil.example' },
      { cookie, 'x-csrf-token': body.csrfToken, origin: 'null' },
    ];
    for (const headers of attempts) {
      const res = await t.api('POST', '/members', { key: null, headers, body: { externalId } });
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.equal(res.body.type, '/problems/forbidden');
    }
    assert.equal(await t.db('members').where({ external_id: externalId }).first(), undefined);

    const ok = await t.api('POST', '/members', {
      key: null,
      headers: { cookie, 'x-csrf-token': body.csrfToken, origin: t.baseUrl },
      body: { externalId },
    });
    assert.equal(ok.status, 201);
    const row = await t.db('members').where({ external_id: externalId }).first();
    assert.ok(row, 'enrolled with the session');
  });

  it('sign-out ends the session: the old cookie gets 401', async () => {
    const { cookie, body } = await signIn(t, t.keys.ops);
    const refused = await t.api('DELETE', '/session', { key: null, headers: { cookie } });
    assert.equal(refused.status, 403, 'sign-out needs the CSRF header too');
    const out = await t.api('DELETE', '/session', {
      key: null,
      headers: { cookie, 'x-csrf-token': body.csrfToken },
    });
    assert.equal(out.status, 204);
    assert.match(out.headers.getSetCookie()[0] ?? '', /^loyalty_session=; .*Max-Age=0/);
    const after = await t.api('GET', '/session', { key: null, headers: { cookie } });
    assert.equal(after.status, 401);
    assert.equal(after.body.type, '/problems/unauthorized');
    assert.match(after.body.detail, /sign in again/);
  });

  it('a session ends when it expires and when its key is revoked', async () => {
    const expiring = await signIn(t, t.keys.ops);
    const token = expiring.cookie.split('=')[1]!;
    await t
      .db('sessions')
      .whereRaw("token_hash = encode(sha256(convert_to(?, 'UTF8')), 'hex')", [token])
      .update({ expires_at: t.db.raw("created_at + interval '1 millisecond'") });
    const expired = await t.api('GET', '/session', {
      key: null,
      headers: { cookie: expiring.cookie },
    });
    assert.equal(expired.status, 401);

    const key = await createApiKey(t.db, { role: 'ops', name: uniqueId('revoke') });
    const { cookie } = await signIn(t, key.key);
    assert.equal((await t.api('GET', '/session', { key: null, headers: { cookie } })).status, 200);
    await t.db('api_keys').where({ id: key.id }).update({ revoked_at: new Date() });
    const revoked = await t.api('GET', '/session', { key: null, headers: { cookie } });
    assert.equal(revoked.status, 401);
  });

  it('sessions a day past their end are deleted at the next sign-in', async () => {
    const old = await signIn(t, t.keys.ops);
    const token = old.cookie.split('=')[1]!;
    const mine = () =>
      t
        .db('sessions')
        .whereRaw("token_hash = encode(sha256(convert_to(?, 'UTF8')), 'hex')", [token]);
    await mine().update({
      created_at: t.db.raw("now() - interval '3 days'"),
      expires_at: t.db.raw("now() - interval '2 days'"),
    });
    await signIn(t, t.keys.readonly);
    assert.equal((await mine()).length, 0);
  });

  it('with a Bearer key, GET /session says who holds it (no session, no CSRF token)', async () => {
    const me = await t.api('GET', '/session', { key: t.keys.admin });
    assert.equal(me.status, 200);
    assert.equal(me.body.role, 'admin');
    assert.equal(me.body.expiresAt, null);
    assert.equal(me.body.csrfToken, null);
  });
});
