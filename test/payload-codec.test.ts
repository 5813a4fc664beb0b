/**
 * Workflow payloads encrypted with PAYLOAD_CODEC_KEYS: a coupon code a redemption carries is
 * nowhere in its history as Temporal stores it, yet the history decodes (and replays) with the
 * keys; the remote codec routes round-trip for ops and refuse partners; a rotated-out key still
 * decodes what it wrote.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../config';
import {
  AesGcmPayloadCodec,
  encryptedEncoding,
  parseCodecKeys,
  payloadCodecOf,
} from '../infra/payload-codec';
import { workflowIds } from '../workflows/shared';
import { startTestContext, type TestContext } from './support/context';
import { publishProgram } from './support/ledger';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const oldKey = key('old');
const newKey = key('new');

const json = (value: unknown): Payload => ({
  metadata: { encoding: Buffer.from('json/plain') },
  data: Buffer.from(JSON.stringify(value)),
});
const base64 = (p: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data!).toString('base64'),
});

/**
 * Every payload in a history (anything with metadata and data), wherever it sits; but search
 * attributes, which Temporal must index, and the SDK core's own marker data (a patch's id, a
 * local activity's sequence and times), which no codec touches and which hold no secrets. A local
 * activity marker's `result` is the activity's, and is checked.
 */
function payloadsIn(value: unknown, found: Payload[] = []): Payload[] {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return found;
  const marker = value as { markerName?: string; details?: Record<string, unknown> };
  if (marker.markerName) return payloadsIn(marker.details?.result ?? null, found);
  const candidate = value as Payload;
  if (candidate.metadata && candidate.data instanceof Uint8Array) found.push(candidate);
  else
    for (const [name, child] of Object.entries(value))
      if (name !== 'searchAttributes') payloadsIn(child, found);
  return found;
}

describe('payload codec', () => {
  it('the first key encrypts; every key decrypts; a key not held cannot', async () => {
    const [oldOnly, rotated, newOnly] = [oldKey, `${newKey},${oldKey}`, newKey].map(
      (keys) => new AesGcmPayloadCodec(parseCodecKeys(keys)),
    );
    const [written] = await oldOnly!.encode([json({ code: 'SECRET-1' })]);
    assert.equal(Buffer.from(written!.metadata!.encoding!).toString(), encryptedEncoding);
    assert.equal(Buffer.from(written!.data!).includes('SECRET-1'), false);
    const [read] = await rotated!.decode([written!]);
    assert.equal(Buffer.from(read!.data!).toString(), '{"code":"SECRET-1"}');
    const [rewritten] = await rotated!.encode([json('x')]);
    assert.equal(Buffer.from(rewritten!.metadata!['encryption-key-id']!).toString(), 'new');
    await assert.rejects(newOnly!.decode([written!]), /key "old", which PAYLOAD_CODEC_KEYS lacks/);
    // Plain payloads (from before keys were set) are read as they are.
    const plain = json({ before: true });
    assert.deepEqual(await newOnly!.decode([plain]), [plain]);
    // Tampered with: refused, not misread.
    const tampered = { ...written!, data: Buffer.from(written!.data!).fill(1, 20, 21) };
    await assert.rejects(rotated!.decode([tampered]));
  });

  it('bad PAYLOAD_CODEC_KEYS stop the process naming the variable', () => {
    for (const bad of ['nokey', 'a:c2hvcnQ=', `${oldKey},${oldKey}`])
      assert.throws(() => loadConfig({ PAYLOAD_CODEC_KEYS: bad }), /PAYLOAD_CODEC_KEYS: expected/);
    assert.equal(loadConfig({}).PAYLOAD_CODEC_KEYS, undefined);
  });
});

describe('encrypted workflow payloads', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext(
      'payload-codec',
      { PAYLOAD_CODEC_KEYS: `${newKey},${oldKey}` },
      { partners: {} },
    );
    await publishProgram(t, redemptionProgram);
  });
  after(() => t.stop());

  it("a coupon code is not in its redemption's history as stored, but decodes and replays", async () => {
    const code = `CODE-${randomUUID()}`;
    const rewardId = await createReward(t, { kind: 'coupon', pointsCost: 50, codes: [code] });
    const memberId = await memberWithPoints(t, 100);
    const res = await redeem(t, { memberId, rewardId });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const done = await waitForStatus(t, res.body.redemptionId as string, 'completed');
    assert.equal(done.live.coupon.code, code); // through the codec, the app reads it

    const handle = t.env.client.workflow.getHandle(workflowIds.redemption(done.redemptionId));
    const history = await handle.fetchHistory();
    const stored = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    assert.equal(stored.includes(code), false, 'the code is in the stored history');
    const payloads = payloadsIn(history);
    assert.ok(payloads.length > 3);
    for (const p of payloads)
      assert.equal(
        Buffer.from(p.metadata!.encoding!).toString(),
        encryptedEncoding,
        Buffer.from(p.data!).toString(),
      );
    const decoded = await payloadCodecOf(t.config)!.decode(payloads);
    assert.ok(
      decoded.some((p) => Buffer.from(p.data ?? []).includes(code)),
      'the code travels in the history (so its absence above means something)',
    );

    const bundle = process.env.LOYALTY_TEST_WORKFLOW_BUNDLE;
    await Worker.runReplayHistory(
      {
        ...(bundle
          ? { workflowBundle: { codePath: bundle } }
          : { workflowsPath: require.resolve('../workflows') }),
        replayName: 'codec-replay',
        dataConverter: { payloadCodecs: [payloadCodecOf(t.config)!] },
      },
      history,
      handle.workflowId,
    );
  });

  const codec = (path: string, body: unknown, key: string | null, origin?: string) =>
    t.api('POST', path, { key, body, headers: origin ? { origin } : {} });

  it('the remote codec routes round-trip for ops and admins, and decode a rotated-out key', async () => {
    const plain = [json({ code: 'X-1' }), json('two')];
    for (const key of [t.keys.ops, t.keys.admin]) {
      const encoded = await codec('/codec/encode', { payloads: plain.map(base64) }, key);
      assert.equal(encoded.status, 200, JSON.stringify(encoded.body));
      assert.equal(encoded.body.payloads.length, 2);
      assert.equal(
        Buffer.from(encoded.body.payloads[0].metadata.encoding, 'base64').toString(),
        encryptedEncoding,
      );
      assert.ok(!Buffer.from(encoded.body.payloads[0].data, 'base64').includes('X-1'));
      const decoded = await codec('/codec/decode', encoded.body, key);
      assert.equal(decoded.status, 200, JSON.stringify(decoded.body));
      assert.deepEqual(decoded.body.payloads, plain.map(base64));
    }
    const byOldKey = await new AesGcmPayloadCodec(parseCodecKeys(oldKey)).encode(plain);
    const decoded = await codec('/codec/decode', { payloads: byOldKey.map(base64) }, t.keys.ops);
    assert.equal(decoded.status, 200, JSON.stringify(decoded.body));
    assert.deepEqual(decoded.body.payloads, plain.map(base64));
  });

  it('refuses partners, readonly keys and no key; a payload it cannot decode names it', async () => {
    const body = { payloads: [base64(json(1))] };
    for (const [key, status] of [
      [t.keys.partner, 403],
      [t.keys.readonly, 403],
      [null, 401],
    ] as const) {
      const res = await codec('/codec/decode', body, key);
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.body.payloads, undefined);
    }
    const foreign = await new AesGcmPayloadCodec(parseCodecKeys(key('gone'))).encode([json(1)]);
    const res = await codec('/codec/decode', { payloads: [base64(foreign[0]!)] }, t.keys.ops);
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(res.body.errors[0].field, 'payloads[0]');
    assert.match(res.body.errors[0].message, /"gone"/);
  });

  it("takes an ops console session from the Temporal UI's origin without a CSRF token", async () => {
    const ui = new URL(t.config.TEMPORAL_UI_URL).origin;
    const signIn = async (apiKey: string) => {
      const res = await t.api('POST', '/session', { key: null, body: { apiKey } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.headers.getSetCookie()[0]!.split(';')[0]!;
    };
    const body = { payloads: [base64(json('via session'))] };
    const post = (cookie: string, origin: string) =>
      t.api('POST', '/codec/encode', { key: null, body, headers: { cookie, origin } });
    const ops = await signIn(t.keys.ops);
    const fromUi = await post(ops, ui);
    assert.equal(fromUi.status, 200, JSON.stringify(fromUi.body));
    assert.equal(fromUi.body.payloads.length, 1);
    // Any other origin still needs the CSRF token (and is refused without it).
    const elsewhere = await post(ops, 'https://evil.example');
    assert.equal(elsewhere.status, 403, JSON.stringify(elsewhere.body));
    const readonly = await post(await signIn(t.keys.readonly), ui);
    assert.equal(readonly.status, 403, JSON.stringify(readonly.body));
  });

  it('answers CORS for the Temporal UI origin only', async () => {
    const ui = new URL(t.config.TEMPORAL_UI_URL).origin;
    const preflight = await fetch(`${t.baseUrl}/codec/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: ui,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace,authorization',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), ui);
    assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /X-Namespace/);
    const fromUi = await codec('/codec/decode', { payloads: [] }, t.keys.ops, ui);
    assert.equal(fromUi.headers.get('access-control-allow-origin'), ui);
    const elsewhere = await codec(
      '/codec/decode',
      { payloads: [] },
      t.keys.ops,
      'https://evil.example',
    );
    assert.equal(elsewhere.headers.get('access-control-allow-origin'), null);
  });
});
