/**
 * What each role may see, on every GET route of the route table, for every role (and no key):
 * a route the role may not call is refused (401/403) and carries nothing; a route it may call
 * carries no field it may not see. The README's rules: gift-card and coupon codes in full only
 * for `ops` and `admin` (everyone else reads them masked, everywhere); partners reach only their
 * webhook routes, which carry no member's personal data (email, name, shipping address) and no
 * codes. Server-sent event routes are read for a moment too, from their first event (a coupon's
 * `issued` step carries its code).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { roleAllows, roles, type Role } from '../domain/roles';
import { startTestContext, type TestContext } from './support/context';
import { publishProgram } from './support/ledger';
import { createReward, redeem, redemptionProgram, waitForStatus } from './support/redemptions';

type Caller = Role | 'none';

describe('what each role sees on every GET route', () => {
  let t: TestContext;
  const fixture = {
    memberId: '',
    couponRedemption: '',
    giftCardRedemption: '',
    rewardId: '',
    subscriptionId: '',
  };
  const secrets = { codes: [] as string[], personal: [] as string[] };

  before(async () => {
    t = await startTestContext('role-fields', {}, { partners: {} });
    await publishProgram(t, redemptionProgram);
    const email = `ada-${randomUUID().slice(0, 8)}@example.com`;
    const name = `Ada ${randomUUID().slice(0, 8)}`;
    const address = `${randomUUID().slice(0, 8)} Rue de Rivoli`;
    secrets.personal.push(email, name, address);
    const enrolled = await t.api('POST', '/members', {
      body: { externalId: `ext-${randomUUID()}`, email, name },
    });
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    fixture.memberId = enrolled.body.id as string;
    const adjusted = await t.api('POST', `/members/${fixture.memberId}/adjustments`, {
      body: { points: 1000, reason: 'role test' },
    });
    assert.equal(adjusted.status, 201, JSON.stringify(adjusted.body));

    const couponCode = `COUPON-${randomUUID()}`;
    fixture.rewardId = await createReward(t, {
      kind: 'coupon',
      pointsCost: 50,
      codes: [couponCode],
    });
    const coupon = await redeem(t, {
      memberId: fixture.memberId,
      rewardId: fixture.rewardId,
      shipTo: { country: 'FR', address },
    });
    assert.equal(coupon.status, 201, JSON.stringify(coupon.body));
    fixture.couponRedemption = coupon.body.redemptionId as string;
    const couponView = await waitForStatus(t, fixture.couponRedemption, 'completed');
    assert.equal(couponView.live.coupon.code, couponCode);

    const cardReward = await createReward(t, { kind: 'gift_card', pointsCost: 100 });
    const card = await redeem(t, { memberId: fixture.memberId, rewardId: cardReward });
    assert.equal(card.status, 201, JSON.stringify(card.body));
    fixture.giftCardRedemption = card.body.redemptionId as string;
    const cardView = await waitForStatus(t, fixture.giftCardRedemption, 'completed');
    secrets.codes.push(couponCode, cardView.live.giftCard.code as string);

    const subscribed = await t.api('POST', '/webhooks/subscriptions', {
      key: t.keys.partner,
      body: { url: 'http://127.0.0.1:9/hooks', eventTypes: ['redemption.*'] },
    });
    assert.equal(subscribed.status, 201, JSON.stringify(subscribed.body));
    fixture.subscriptionId = subscribed.body.subscription.id as string;
  });
  after(() => t.stop());

  /** A GET route's path with its parameters filled from the fixture. */
  const filled = (path: string): string =>
    path.replace(/:(\w+)/g, (_match, param: string) => {
      if (path.startsWith('/members/')) return fixture.memberId;
      if (path.startsWith('/redemptions/')) return fixture.couponRedemption;
      if (path.startsWith('/rewards/')) return fixture.rewardId;
      if (path.startsWith('/webhooks/')) return fixture.subscriptionId;
      if (param === 'version') return 'active';
      return randomUUID(); // no such thing: a 404 must carry nothing either
    });

  /** The body as text; an event stream for at most a moment. */
  async function read(path: string, caller: Caller): Promise<{ status: number; text: string }> {
    // Last-Event-ID 0: a step stream sends every step from the first (the `issued` one too).
    const headers: Record<string, string> = {
      'last-event-id': '0',
      ...(caller === 'none' ? {} : { authorization: `Bearer ${t.keys[caller]}` }),
    };
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 1500);
    try {
      const res = await fetch(`${t.baseUrl}${path}`, { headers, signal: abort.signal });
      let text = '';
      try {
        for await (const chunk of res.body ?? [])
          text += Buffer.from(chunk as Uint8Array).toString();
      } catch (err) {
        if (!abort.signal.aborted) throw err;
      }
      return { status: res.status, text };
    } finally {
      clearTimeout(timer);
    }
  }

  const callers: Caller[] = [...roles, 'none'];
  for (const caller of callers) {
    it(`${caller === 'none' ? 'no key' : caller}: refused where it may not go; nothing it may not see where it may`, async () => {
      const gets = t.app.routes.filter((r) => r.method === 'get');
      assert.ok(gets.length > 30, 'the route table lists the GET routes');
      // The gift-card redemption too: its view and its step stream (the `issued` step).
      const targets = [
        ...gets.map((r) => ({ auth: r.auth, path: filled(r.path) })),
        { auth: 'readonly' as const, path: `/redemptions/${fixture.giftCardRedemption}` },
        { auth: 'readonly' as const, path: `/redemptions/${fixture.giftCardRedemption}/events` },
      ];
      const leaks: string[] = [];
      let reached = 0;
      for (const { auth, path } of targets) {
        const allowed = auth === 'public' || (caller !== 'none' && roleAllows(caller, auth));
        const { status, text } = await read(path, caller);
        if (!allowed) {
          if (![401, 403].includes(status)) leaks.push(`${path}: ${status}, not refused`);
          continue;
        }
        if (status === 200) reached += 1;
        const codesVisible = caller === 'ops' || caller === 'admin';
        const personalVisible = caller !== 'partner' && caller !== 'none';
        for (const code of codesVisible ? [] : secrets.codes)
          if (text.includes(code)) leaks.push(`${path}: a full code (${status})`);
        for (const value of personalVisible ? [] : secrets.personal)
          if (text.includes(value)) leaks.push(`${path}: personal data "${value}" (${status})`);
      }
      assert.deepEqual(leaks, []);
      assert.ok(reached > 0, 'some routes answered 200');
      if (caller === 'readonly') {
        // Not vacuous: the codes are there, masked, in a view and in a step stream.
        const mask = (code: string) => `${'*'.repeat(code.length - 4)}${code.slice(-4)}`;
        for (const [path, code] of [
          [`/redemptions/${fixture.giftCardRedemption}`, secrets.codes[1]!],
          [`/redemptions/${fixture.couponRedemption}/events`, secrets.codes[0]!],
        ] as const)
          assert.ok((await read(path, caller)).text.includes(mask(code)), `${path}: ${mask(code)}`);
      }
      if (caller === 'ops' || caller === 'admin') {
        // The rule has teeth: ops and admins do read the codes in full somewhere.
        const { text } = await read(`/redemptions/${fixture.couponRedemption}`, caller);
        assert.ok(text.includes(secrets.codes[0]!));
      }
    });
  }
});
