import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openApiPath } from '../api/openapi';
import { startTestContext, type TestContext } from './support/context';

interface Layer {
  name?: string;
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every route express would actually serve, read from its router (not from our registry). */
function servedRoutes(t: TestContext): string[] {
  const stack = (t.app.app as unknown as { router: { stack: Layer[] } }).router.stack;
  const found: string[] = [];
  for (const layer of stack) {
    assert.ok(
      !layer.handle?.stack,
      'nested routers are not inspected here: mount routes on the app',
    );
    if (!layer.route) continue;
    for (const method of Object.keys(layer.route.methods)) {
      if (method !== '_all') found.push(`${method} ${openApiPath(layer.route.path)}`);
    }
  }
  return found;
}

describe('OpenAPI description', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('openapi');
  });
  after(async () => {
    await t.stop();
  });

  it('is served at /openapi.json and is a valid OpenAPI 3.1 document', async () => {
    const res = await t.api('GET', '/openapi.json', { key: null });
    assert.equal(res.status, 200);
    assert.equal(res.body.openapi, '3.1.0');
    // An ES module: imported dynamically from this CommonJS test.
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const result = await new Validator().validate(res.body);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  });

  it('describes every route the app serves', async () => {
    const res = await t.api('GET', '/openapi.json', { key: null });
    const described = Object.entries(
      res.body.paths as Record<string, Record<string, unknown>>,
    ).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
    const served = servedRoutes(t);
    assert.ok(served.includes('post /members'));
    const undescribed = served.filter((route) => !described.includes(route));
    assert.deepEqual(undescribed, [], 'routes missing from /openapi.json');
  });

  it('describes request bodies with the schemas that validate them', async () => {
    const res = await t.api('GET', '/openapi.json', { key: null });
    const body = res.body.paths['/members'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(body.required, ['externalId']);
    assert.equal(body.additionalProperties, false);
    assert.deepEqual(Object.keys(body.properties).sort(), ['email', 'externalId', 'name']);
  });

  it('has a human-readable docs page that loads its assets locally', async () => {
    const redirect = await t.api('GET', '/docs', { key: null });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/docs/');
    const page = await t.api('GET', '/docs/', { key: null });
    assert.equal(page.status, 200);
    assert.match(page.body, /<div id="swagger-ui">/);
    for (const asset of ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-init.js']) {
      assert.match(page.body, new RegExp(`\\./${asset.replace('.', '\\.')}`));
      const res = await t.api('GET', `/docs/${asset}`, { key: null });
      assert.equal(res.status, 200, asset);
    }
    const init = await t.api('GET', '/docs/swagger-ui-init.js', { key: null });
    assert.match(init.body, /"url": "\/openapi\.json"|\/openapi\.json/);
  });
});
