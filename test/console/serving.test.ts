/**
 * How the API serves the built console: the page for every path under /console/ (so its own
 * addresses survive a reload), hashed assets cached for a year, the page never cached, a strict
 * content security policy, and nothing fetched from another origin.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestContext, type TestContext } from '../support/context';

const dist = path.resolve(__dirname, '..', '..', 'console', 'dist');

describe('console: served by the API at /console', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('console-serving', {}, { worker: false });
  });
  after(async () => {
    await t.stop();
  });

  it('/console redirects to /console/, which is the console page, never cached', async () => {
    const bare = await t.api('GET', '/console', { key: null });
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get('location'), '/console/');
    const page = await t.api('GET', '/console/', { key: null });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    assert.equal(page.body, fs.readFileSync(path.join(dist, 'index.html'), 'utf8'));
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
  });

  it('answers the page for the console’s own addresses, and no other origin is referenced', async () => {
    for (const address of ['/console/redemptions/r-1', '/console/members', '/console/x/y']) {
      const res = await t.api('GET', address, { key: null });
      assert.equal(res.status, 200, address);
      assert.match(res.body as string, /<div id="root"><\/div>/);
    }
    const page = (await t.api('GET', '/console/', { key: null })).body as string;
    assert.doesNotMatch(page, /(src|href)="(https?:)?\/\//, 'no CDN');
  });

  it('serves the hashed assets with a year of caching; an unknown asset is a 404 problem', async () => {
    const page = (await t.api('GET', '/console/', { key: null })).body as string;
    const assets = [...page.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map(
      (m) => m[1]!,
    );
    assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')));
    for (const asset of assets) {
      const res = await t.api('GET', asset, { key: null });
      assert.equal(res.status, 200, asset);
      assert.match(res.headers.get('cache-control') ?? '', /max-age=31536000, immutable/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    }
    const missing = await t.api('GET', '/console/assets/nope-123.js', { key: null });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.type, '/problems/not-found');
  });

  it('the API itself is not behind the console: a POST under /console is no route', async () => {
    const res = await t.api('POST', '/console/session', { key: null, body: {} });
    assert.equal(res.status, 404);
  });
});
