/**
 * The edges of the HTTP surface, handled once in api/route.ts: numbers in paths and query strings
 * beyond what Postgres' `integer` holds are a 404 (path) or a 422 naming the field (query), not a
 * 500 from the database, while `bigint` ids take any safe integer; a known path asked with a method
 * it does not have is a 405 with `Allow` (OPTIONS: 204 with `Allow`).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startTestContext, type TestContext } from './support/context';
import { enrol } from './support/ledger';

describe('HTTP edges', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('http-edges', {}, { worker: false });
  });
  after(async () => {
    await t.stop();
  });

  /** fetch refuses TRACE; node:http sends any method. */
  const raw = (method: string, path: string) =>
    new Promise<{ status: number; allow: string | undefined; body: string }>((resolve, reject) => {
      const req = http.request(`${t.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${t.keys.admin}` },
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, body }),
        );
      });
      req.on('error', reject);
      req.end();
    });

  it('numbers out of range: 404 in a path, 422 naming the field in a query', async () => {
    for (const version of ['9007199254740990', '2147483648', '99999999999999999999999', '1e400']) {
      const res = await t.api('GET', `/rule-sets/${version}`);
      assert.equal(res.status, 404, `${version}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.errors[0].field, 'version');
    }
    assert.equal((await t.api('GET', '/rule-sets/2147483647')).status, 404, 'in range, none');

    const query = await t.api('GET', '/redemptions?olderThanMinutes=9007199254740990');
    assert.equal(query.status, 422, JSON.stringify(query.body));
    assert.equal(query.body.errors[0].field, 'query.olderThanMinutes');

    // A bigint id is not held to the integer range.
    const memberId = await enrol(t);
    const ledger = await t.api('GET', `/members/${memberId}/ledger?after=3000000000`);
    assert.equal(ledger.status, 200, JSON.stringify(ledger.body));
    const release = await t.api('POST', `/members/${memberId}/frozen/3000000000/release`, {
      key: t.keys.ops,
      body: { reason: 'no such entry' },
    });
    assert.equal(release.status, 404, JSON.stringify(release.body));
  });

  it('bad percent-encoding in a path is a 400; a NUL character anywhere is refused (fuzzer finds)', async () => {
    for (const path of ['/members/%zz', '/members/%E0%A4%A/ledger', '/rule-sets/%']) {
      const res = await t.api('GET', path);
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.errors[0].field, '(path)');
    }
    const inPath = await t.api('GET', '/rule-sets/simulations/%00');
    assert.equal(inPath.status, 404, JSON.stringify(inPath.body));
    const inQuery = await t.api('GET', '/members?email=%00');
    assert.equal(inQuery.status, 422, JSON.stringify(inQuery.body));
    assert.equal(inQuery.body.errors[0].field, 'query.email');
    const externalId = `nul-${Date.now()}`;
    const inBody = await t.api('POST', '/members', {
      key: t.keys.ops,
      body: { externalId, name: 'a\u0000b' },
    });
    assert.equal(inBody.status, 422, JSON.stringify(inBody.body));
    assert.deepEqual(inBody.body.errors, [
      { field: 'name', message: 'must not contain NUL characters' },
    ]);
    assert.equal((await t.db('members').where({ external_id: externalId })).length, 0);
  });

  it('a method a known path does not have: 405 with Allow', async () => {
    const trace = await raw('TRACE', '/rule-sets');
    assert.equal(trace.status, 405, trace.body);
    assert.equal(trace.allow, 'POST, OPTIONS');
    assert.equal(JSON.parse(trace.body).type, '/problems/method-not-allowed');

    const del = await raw('DELETE', '/health');
    assert.equal(del.status, 405);
    assert.equal(del.allow, 'GET, HEAD, OPTIONS');
    const put = await raw('PUT', '/rule-sets/3');
    assert.equal(put.status, 405);
    assert.equal(put.allow, 'GET, HEAD, OPTIONS');
    const simulations = await raw('DELETE', '/rule-sets/simulations');
    assert.match(simulations.allow ?? '', /POST/);

    const options = await raw('OPTIONS', '/members');
    assert.equal(options.status, 204);
    assert.equal(options.allow, 'POST, GET, HEAD, OPTIONS');
    assert.equal((await raw('TRACE', '/no-such-path')).status, 404);
    assert.equal((await raw('HEAD', '/health')).status, 200, 'HEAD of a GET route still answers');
  });
});
