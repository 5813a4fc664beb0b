/**
 * Webhooks never go to internal addresses while WEBHOOK_ALLOW_PRIVATE_TARGETS is off: the address
 * rules over every class, a subscription to such a URL refused (422 on `url`), and a delivery to
 * one (a subscription made while they were allowed, or a name that now resolves to one) refused
 * on the address the socket would use: recorded failed with the reason, the subscription disabled,
 * nothing sent. `npm test` turns the setting on; this test's own API and worker have it off.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { DeliveryRow } from '../webhooks/deliveries';
import { sendWebhook } from '../webhooks/send';
import { internalKind, internalTargetReason } from '../webhooks/targets';
import { eventually, startTestContext, type TestContext } from './support/context';
import { enrol, instantProgram, publishProgram } from './support/ledger';
import { startReceiver, type Receiver } from './support/receiver';

describe('webhook target address rules', () => {
  const internal: [string, RegExp][] = [
    ['127.0.0.1', /loopback/],
    ['127.255.1.2', /loopback/],
    ['10.1.2.3', /private \(10/],
    ['172.16.0.1', /private \(172/],
    ['172.31.255.255', /private \(172/],
    ['192.168.1.1', /private \(192\.168/],
    ['169.254.169.254', /link-local, cloud metadata/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['100.127.255.255', /carrier-grade NAT/],
    ['0.0.0.0', /this network/],
    ['0.1.2.3', /this network/],
    ['224.0.0.1', /multicast/],
    ['255.255.255.255', /reserved/],
    ['198.18.0.1', /benchmarking/],
    ['::1', /loopback/],
    ['[::1]', /loopback/],
    ['::', /unspecified/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['fd00::1', /unique local/],
    ['fc12:3456::1', /unique local/],
    ['ff02::1', /multicast/],
    ['::ffff:127.0.0.1', /loopback.*inside an IPv6/],
    ['::ffff:7f00:1', /loopback.*inside an IPv6/],
    ['[::ffff:a9fe:a9fe]', /metadata.*inside an IPv6/],
    ['::ffff:10.0.0.1', /private.*inside an IPv6/],
    ['64:ff9b::7f00:1', /loopback.*inside an IPv6/],
    ['64:ff9b::192.168.0.1', /private.*inside an IPv6/],
    ['2001:db8::1', /documentation/],
  ];
  for (const [address, kind] of internal)
    it(`${address} is internal`, () => assert.match(internalKind(address) ?? 'public', kind));

  const external = [
    '8.8.8.8',
    '1.1.1.1',
    '172.15.255.255',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.0',
    '169.255.0.1',
    '11.0.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    'example.com',
  ];
  for (const address of external)
    it(`${address} is not internal`, () => assert.equal(internalKind(address), null));

  it('a URL whose host is, or resolves only to, internal addresses is named', async () => {
    assert.match((await internalTargetReason('http://127.0.0.1:9/x'))!, /loopback/);
    assert.match((await internalTargetReason('http://[::1]/x'))!, /loopback/);
    assert.match((await internalTargetReason('http://2130706433/x'))!, /127\.0\.0\.1.*loopback/);
    assert.match((await internalTargetReason('http://0x7f.1/x'))!, /loopback/);
    assert.match((await internalTargetReason('http://localhost:8080/'))!, /resolves only to/);
    assert.equal(await internalTargetReason('https://93.184.215.14/hooks'), null);
  });
});

describe('webhook targets with WEBHOOK_ALLOW_PRIVATE_TARGETS off', () => {
  let t: TestContext;
  let receiver: Receiver;
  before(async () => {
    t = await startTestContext(
      'webhook-targets',
      {
        WEBHOOK_ALLOW_PRIVATE_TARGETS: false,
        WEBHOOK_RETRY_SCHEDULE: '200ms,200ms',
        WEBHOOK_POLL_MS: 100,
      },
      { webhooks: true },
    );
    await publishProgram(t, instantProgram);
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
    await t.stop();
  });

  const port = () => new URL(receiver.url).port;

  it('refuses to subscribe an internal URL (422 naming url) and makes nothing', async () => {
    const before = await t.db('webhook_subscriptions').count({ n: '*' }).first();
    for (const url of [
      receiver.url,
      `http://localhost:${port()}/hooks`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:127.0.0.1]:9/',
      'http://10.0.0.5/hooks',
    ]) {
      const res = await t.api('POST', '/webhooks/subscriptions', {
        key: t.keys.partner,
        body: { url, eventTypes: ['points.*'] },
      });
      assert.equal(res.status, 422, `${url}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(
        res.body.errors.map((e: { field: string }) => e.field),
        ['url'],
      );
      assert.match(res.body.errors[0].message, /internal|loopback|private|link-local/);
    }
    const now = await t.db('webhook_subscriptions').count({ n: '*' }).first();
    assert.deepEqual(now, before);
  });

  it('refuses to change a subscription to an internal URL', async () => {
    // An event this test never causes, so nothing goes out to that public address.
    const made = await t.api('POST', '/webhooks/subscriptions', {
      key: t.keys.partner,
      body: { url: 'https://93.184.215.14/hooks', eventTypes: ['giftcard.float_low'] },
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const id = made.body.subscription.id as string;
    const res = await t.api('PATCH', `/webhooks/subscriptions/${id}`, {
      key: t.keys.partner,
      body: { url: 'http://127.0.0.1:1/' },
    });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(res.body.errors[0].field, 'url');
    const row = await t.db('webhook_subscriptions').where({ id }).first();
    assert.equal(row.url, 'https://93.184.215.14/hooks');
  });

  it('sends nothing to a name resolving to an internal address, nor to an internal literal', async () => {
    for (const url of [`http://localhost:${port()}/`, receiver.url]) {
      const sent = await sendWebhook({
        url,
        event: {
          id: 1,
          type: 'points.adjusted',
          member_id: null,
          payload: {},
          occurred_at: new Date(),
        },
        secrets: [],
        timeoutMs: 2000,
        allowPrivateTargets: false,
      });
      assert.equal(sent.refused, true, url);
      assert.match(sent.error!, /refused: .*loopback.*WEBHOOK_ALLOW_PRIVATE_TARGETS is off/);
    }
    assert.equal(receiver.arrivals.size + receiver.refused, 0);
  });

  it('a delivery to an internal address fails at once with the reason and disables its subscription', async () => {
    // Made while such URLs were allowed (or before the name resolved to one).
    const id = randomUUID();
    await t.db('webhook_subscriptions').insert({
      id,
      owner_role: 'partner',
      url: `http://localhost:${port()}/hooks`,
      event_types: ['points.*'],
    });
    await t
      .db('webhook_secrets')
      .insert({ subscription_id: id, secret: 'whsec_dGVzdHRlc3R0ZXN0dGVzdA==' });
    const memberId = await enrol(t);
    const adjusted = await t.api('POST', `/members/${memberId}/adjustments`, {
      body: { points: 5, reason: 'target test' },
    });
    assert.equal(adjusted.status, 201, JSON.stringify(adjusted.body));
    const delivery = await eventually('the delivery settled', async () => {
      const row: DeliveryRow | undefined = await t
        .db<DeliveryRow>('webhook_deliveries')
        .where({ subscription_id: id })
        .first();
      return row && row.status !== 'pending' ? row : undefined;
    });
    assert.equal(delivery.status, 'failed');
    assert.equal(delivery.attempts, 1);
    assert.match(delivery.last_error ?? '', /refused: localhost resolves to .*loopback/);
    const subscription = await t.db('webhook_subscriptions').where({ id }).first();
    assert.equal(subscription.status, 'disabled');
    assert.match(subscription.disabled_reason, /refused: localhost resolves to/);
    assert.equal(receiver.arrivals.size + receiver.refused, 0);
  });
});
