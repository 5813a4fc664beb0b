/**
 * The console's sign-in, roles and sign-out in headless Chromium: a wrong key is told so; a
 * readonly session is offered no action and its direct POSTs are refused; sign-out ends it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createApiKey } from '../../api/keys';
import { checkPage, startConsoleTest, type ConsoleTest } from '../support/browser';
import type { Page } from 'playwright-core';
import { createReward, memberWithPoints, redeem, waitForStatus } from '../support/redemptions';
import { backorderedRedemption, usePrograms } from './support';

/** A completed redemption of a gift card or a coupon, and its code. */
async function redemptionWithCode(c: ConsoleTest, kind: 'gift_card' | 'coupon') {
  const coupon = `CPN-${randomUUID().slice(0, 13).toUpperCase()}`;
  const rewardId = await createReward(c.t, { kind, pointsCost: 50, codes: [coupon] });
  const memberId = await memberWithPoints(c.t, 100);
  const res = await redeem(c.t, { memberId, rewardId });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const id = res.body.redemptionId as string;
  await waitForStatus(c.t, id, 'completed');
  if (kind === 'coupon') return { id, code: coupon };
  const card = c.t.partners!.giftcards.cards().find((card) => card.reference === id);
  assert.ok(card, 'the provider issued a card');
  return { id, code: card.code };
}

/** The redemption's page: the code as a person reads it under "Code" or "Coupon code". */
async function codeShown(page: Page, c: ConsoleTest, id: string, label: string) {
  await page.goto(`${c.t.baseUrl}/console/redemptions/${id}`);
  const region = page.getByRole('region', { name: 'Shipment or gift card' });
  const value = region
    .locator('dt', { hasText: new RegExp(`^${label}$`) })
    .locator('xpath=following-sibling::dd[1]');
  await value.waitFor();
  return { value: await value.innerText(), page: await page.locator('main').innerText() };
}

describe('console: sign-in, roles and sign-out', () => {
  let c: ConsoleTest;
  before(async () => {
    c = await startConsoleTest('console-access');
    await usePrograms(c.t);
  });
  after(async () => {
    await c?.stop();
  });

  it('a wrong API key shows a clear error, and no session is made', async () => {
    const { page, context } = await c.anonymous();
    await page.getByRole('heading', { name: 'Sign in to the loyalty-ops console' }).waitFor();
    await checkPage(page, 'sign-in');
    await page.getByLabel('API key').fill('lok_this-is-not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.equal(
      await alert.textContent(),
      'That API key is not valid: it is unknown or has been revoked. Check it and try again.',
    );
    assert.deepEqual(await context.cookies(), []);
    await checkPage(page, 'sign-in-error');
  });

  it('a readonly session sees no action buttons, and its direct POSTs are refused', async () => {
    const { id } = await backorderedRedemption(c.t);
    const { page } = await c.signIn('readonly');
    assert.equal(await page.locator('.who .role').textContent(), 'readonly');
    await page.goto(`${c.t.baseUrl}/console/redemptions/${id}`);
    await page.getByRole('heading', { name: `Redemption ${id}` }).waitFor();
    await page.getByText('Your role (readonly) can view redemptions, not change them.').waitFor();
    assert.equal(await page.getByRole('button', { name: /Cancel|return/i }).count(), 0);
    await checkPage(page, 'redemption-readonly');

    // The same calls the console would make, with the cookie and even with the CSRF header.
    // (No named functions inside: tsx would wrap them in a helper the page does not have.)
    const calls: [string, unknown][] = [
      [`/redemptions/${id}/cancel`, { reason: 'not allowed' }],
      ['/members', { externalId: `readonly-${id}` }],
    ];
    const answers = await page.evaluate(async (list) => {
      const session = (await (await fetch('/session')).json()) as { csrfToken: string };
      const results: { status: number; type: string }[] = [];
      for (const [path, body] of list) {
        const res = await fetch(path, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
          body: JSON.stringify(body),
        });
        results.push({ status: res.status, type: ((await res.json()) as { type: string }).type });
      }
      return results;
    }, calls);
    assert.deepEqual(answers, [
      { status: 403, type: '/problems/forbidden' },
      { status: 403, type: '/problems/forbidden' },
    ]);
    const still = await waitForStatus(c.t, id, 'backordered');
    assert.ok(!still.timeline.some((s: { step: string }) => s.step === 'cancelled'));
  });

  it('gift-card and coupon codes: in full for ops, masked for a readonly session', async () => {
    const ops = (await c.signIn('ops')).page;
    const readonly = (await c.signIn('readonly')).page;
    for (const [kind, label] of [
      ['gift_card', 'Code'],
      ['coupon', 'Coupon code'],
    ] as const) {
      const { id, code } = await redemptionWithCode(c, kind);
      assert.ok(code.length > 8, code);
      const full = await codeShown(ops, c, id, label);
      assert.equal(full.value, code, `${kind}: ops read the code`);

      const masked = await codeShown(readonly, c, id, label);
      const last4 = code.slice(-4);
      assert.equal(
        masked.value,
        `${'*'.repeat(code.length - 4)}${last4} (masked for your role)`,
        `${kind}: readonly reads the last 4 only`,
      );
      // Nowhere on the page (the timeline's issued step names the coupon too).
      assert.ok(!masked.page.includes(code.slice(0, -4)), `${kind}: no more than the last 4`);
      if (kind === 'coupon') assert.match(masked.page, new RegExp(`coupon: \\*+${last4}`));
      await checkPage(readonly, `redemption-${kind}-readonly`);
    }
  });

  it('a page that cannot be found says so, with a way back', async () => {
    const { page } = await c.signIn('readonly');
    await page.goto(`${c.t.baseUrl}/console/redemptions/no-such-redemption`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /No redemption with id 'no-such-redemption'/);
    await alert.getByRole('button', { name: 'Try again' }).waitFor();
    await checkPage(page, 'redemption-not-found');
    await page.goto(`${c.t.baseUrl}/console/nowhere`);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    await page.getByRole('link', { name: 'Go to the redemption queue.' }).click();
    await page.getByRole('heading', { name: 'Redemption queue' }).waitFor();
  });

  it('when the key is revoked, the open console asks to sign in again', async () => {
    const key = await createApiKey(c.t.db, { role: 'ops', name: 'console-revoked' });
    const { page } = await c.anonymous();
    await page.getByLabel('API key').fill(key.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Redemption queue' }).waitFor();
    await c.t.db('api_keys').where({ id: key.id }).update({ revoked_at: new Date() });
    // The queue's next poll is refused (401): the console shows why and the sign-in form.
    await page.getByText('Your session has ended. Sign in again to go on.').waitFor();
    await page.getByLabel('API key').waitFor();
  });

  it('sign-out ends the session: the page asks to sign in and the old cookie gets 401', async () => {
    const { page, context } = await c.signIn('ops');
    const [cookie] = await context.cookies();
    assert.ok(cookie);
    assert.equal(cookie.name, 'loyalty_session');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to the loyalty-ops console' }).waitFor();
    await page.getByText('You are signed out.').waitFor();

    const old = await c.t.api('GET', '/session', {
      key: null,
      headers: { cookie: `${cookie.name}=${cookie.value}` },
    });
    assert.equal(old.status, 401);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to the loyalty-ops console' }).waitFor();
  });
});
