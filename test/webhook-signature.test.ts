/**
 * Standard Webhooks signing: our own round trips and rejections, a published test vector, and a
 * cross-check both ways against the reference implementation (the `standardwebhooks` package).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { generateSecret, signatureHeaders, verifySignature } from '../infra/webhook-signature';

const body = JSON.stringify({ type: 'shipment.delivered', shipmentId: 'r-1', amount: 12.5 });
const now = new Date('2025-01-01T12:00:00.900Z');

describe('webhook signatures (Standard Webhooks)', () => {
  it('generates whsec_ secrets holding 32 random bytes', () => {
    const secret = generateSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.equal(Buffer.from(secret.slice('whsec_'.length), 'base64').length, 32);
    assert.notEqual(generateSecret(), secret);
  });

  it('round trip: what we sign, we verify, with the id and the timestamp in seconds', () => {
    const secret = generateSecret();
    const headers = signatureHeaders(secret, 'msg_1', body, now);
    assert.deepEqual(Object.keys(headers).sort(), [
      'webhook-id',
      'webhook-signature',
      'webhook-timestamp',
    ]);
    assert.equal(headers['webhook-timestamp'], String(Math.floor(now.getTime() / 1000)));
    assert.match(headers['webhook-signature']!, /^v1,[A-Za-z0-9+/]{43}=$/);
    const result = verifySignature([secret], headers, body, now);
    assert.deepEqual(result, {
      ok: true,
      id: 'msg_1',
      timestamp: new Date('2025-01-01T12:00:00.000Z'),
    });
  });

  it('matches the example in the Standard Webhooks / Svix documentation', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const payload = '{"test": 2432232314}';
    const at = new Date(1614265330 * 1000);
    const headers = signatureHeaders(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', payload, at);
    assert.equal(headers['webhook-signature'], 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('rejects a wrong secret and a tampered body, id or timestamp', () => {
    const secret = generateSecret();
    const headers = signatureHeaders(secret, 'msg_1', body, now);
    const rejected = { ok: false, reason: 'no signature matches' };
    assert.deepEqual(verifySignature([generateSecret()], headers, body, now), rejected);
    assert.deepEqual(
      verifySignature([secret], headers, body.replace('12.5', '125'), now),
      rejected,
    );
    assert.deepEqual(
      verifySignature([secret], { ...headers, 'webhook-id': 'msg_2' }, body, now),
      rejected,
    );
    const later = String(Number(headers['webhook-timestamp']) + 1);
    assert.deepEqual(
      verifySignature([secret], { ...headers, 'webhook-timestamp': later }, body, now),
      rejected,
    );
  });

  it('rejects timestamps outside the tolerance, either side', () => {
    const secret = generateSecret();
    const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);
    const signedThen = signatureHeaders(secret, 'msg_1', body, at(-301));
    assert.deepEqual(verifySignature([secret], signedThen, body, now), {
      ok: false,
      reason: 'webhook-timestamp is too old',
    });
    assert.equal(
      verifySignature([secret], signatureHeaders(secret, 'm', body, at(-299)), body, now).ok,
      true,
    );
    assert.deepEqual(
      verifySignature([secret], signatureHeaders(secret, 'm', body, at(301)), body, now),
      {
        ok: false,
        reason: 'webhook-timestamp is in the future',
      },
    );
    // A tighter tolerance is the caller's choice.
    assert.equal(
      verifySignature([secret], signatureHeaders(secret, 'm', body, at(-10)), body, now, 5).ok,
      false,
    );
    const headers = { ...signatureHeaders(secret, 'm', body, now), 'webhook-timestamp': '17e8' };
    assert.equal(verifySignature([secret], headers, body, now).ok, false);
  });

  it('rotation: any signature may match any of several secrets; other versions are ignored', () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const signedOld = signatureHeaders(oldSecret, 'msg_1', body, now);
    assert.equal(verifySignature([newSecret, oldSecret], signedOld, body, now).ok, true);
    assert.equal(verifySignature([newSecret], signedOld, body, now).ok, false);

    const signedNew = signatureHeaders(newSecret, 'msg_1', body, now)['webhook-signature']!;
    const both = `v2,${signedOld['webhook-signature']!.slice(3)} v1,AAAA ${signedNew}`;
    const headers = { ...signedOld, 'webhook-signature': both };
    assert.equal(verifySignature([newSecret], headers, body, now).ok, true);
    const onlyV2 = { ...signedOld, 'webhook-signature': `v2,${signedNew.slice(3)}` };
    assert.deepEqual(verifySignature([newSecret], onlyV2, body, now), {
      ok: false,
      reason: 'no v1 signature in webhook-signature',
    });
  });

  it('names the missing header; reads any header case and fetch Headers', () => {
    const secret = generateSecret();
    const headers = signatureHeaders(secret, 'msg_1', body, now);
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const without = Object.fromEntries(Object.entries(headers).filter(([key]) => key !== name));
      assert.deepEqual(verifySignature([secret], without, body, now), {
        ok: false,
        reason: `missing header ${name}`,
      });
    }
    const shouting = Object.fromEntries(
      Object.entries(headers).map(([key, value]) => [key.toUpperCase(), value]),
    );
    assert.equal(verifySignature([secret], shouting, body, now).ok, true);
    assert.equal(verifySignature([secret], new Headers(headers), body, now).ok, true);
  });

  it('agrees with the reference implementation (standardwebhooks 1.1.1), both ways', () => {
    const secret = generateSecret();
    const reference = new Webhook(secret);

    // The reference accepts what we sign (it checks against the real clock).
    const ours = signatureHeaders(secret, 'msg_cross', body);
    assert.deepEqual(reference.verify(body, ours), JSON.parse(body));
    assert.throws(() => reference.verify(`${body} `, ours), /No matching signature/);

    // We accept what the reference signs.
    const id = 'msg_theirs';
    const at = new Date();
    const theirs = {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': reference.sign(id, at, body),
    };
    assert.equal(verifySignature([secret], theirs, body).ok, true);
    assert.equal(verifySignature([generateSecret()], theirs, body).ok, false);
    assert.equal(
      theirs['webhook-signature'],
      signatureHeaders(secret, id, body, at)['webhook-signature'],
    );
  });
});
