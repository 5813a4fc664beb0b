/**
 * Catalog and stock in the console, in headless Chromium against the real stack: rewards made
 * through the API show with their price and value; stock against threshold, low stock standing
 * out in words; coupon pools with the codes left. Nothing on the page changes anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { checkPage, startConsoleTest, type ConsoleTest } from '../support/browser';
import { createReward } from '../support/redemptions';

const rowOf = (page: Page, id: string) => page.locator(`tr[data-reward="${id}"]`);

describe('console: catalog and stock', () => {
  let c: ConsoleTest;
  let low: string;
  let plenty: string;
  let coupon: string;
  let giftCard: string;
  before(async () => {
    c = await startConsoleTest('console-catalog', {}, {});
    low = await createReward(c.t, { pointsCost: 1500, cashValue: 30, onHand: 2, threshold: 5 });
    plenty = await createReward(c.t, {
      pointsCost: 800,
      cashValue: 12.5,
      onHand: 40,
      threshold: 5,
    });
    coupon = await createReward(c.t, { kind: 'coupon', codes: ['SAVE-A1', 'SAVE-B2', 'SAVE-C3'] });
    giftCard = await createReward(c.t, { kind: 'gift_card', denomination: 25 });
  });
  after(async () => {
    await c?.stop();
  });

  it('shows each reward with stock against threshold; low stock and empty pools stand out', async () => {
    const { page } = await c.signIn('ops');
    await page.getByRole('link', { name: 'Catalog' }).click();
    await page.getByRole('heading', { name: 'Catalog and stock' }).waitFor();
    await rowOf(page, low).waitFor();

    const cells = async (id: string) => rowOf(page, id).locator('td').allInnerTexts();
    const [, kind, , pointsCost, value, stock] = await cells(low);
    assert.deepEqual([kind, pointsCost, value], ['physical', '1,500', '€30.00']);
    assert.match(stock!, /^2 available of 2 on hand \(0 reserved\); threshold 5 Low stock/);
    assert.equal(await rowOf(page, low).getAttribute('class'), 'low');

    const fine = await cells(plenty);
    assert.match(fine[5]!, /^40 available of 40 on hand \(0 reserved\); threshold 5/);
    assert.doesNotMatch(fine[5]!, /Low stock/);
    assert.equal(fine[4], '€12.50');
    assert.equal(await rowOf(page, plenty).getAttribute('class'), null);
    assert.match((await cells(coupon))[5]!, /^3 codes left of 3 \(0 used\)/);
    assert.match((await cells(giftCard))[5]!, /issued by giftco on demand/);

    // The summary counts what the API says is low.
    const all = (await c.t.api('GET', '/rewards?limit=500')).body.rewards as {
      inventory: { low: boolean } | null;
    }[];
    const lowCount = all.filter((r) => r.inventory?.low).length;
    assert.ok(lowCount >= 1);
    assert.match(
      await page.locator('[data-summary]').innerText(),
      new RegExp(`^${all.length} rewards · ${lowCount} low on stock`),
    );
    assert.equal(await page.locator('main').getByRole('button').count(), 0);
    await checkPage(page, 'catalog');

    await page.getByLabel('Only low stock and empty coupon pools').check();
    await rowOf(page, plenty).waitFor({ state: 'detached' });
    assert.equal(await rowOf(page, low).count(), 1);
    await page.getByLabel('Only low stock and empty coupon pools').uncheck();
    await page.getByLabel('Kind').selectOption('coupon');
    await rowOf(page, low).waitFor({ state: 'detached' });
    assert.equal(await rowOf(page, coupon).count(), 1);
  });

  it('a readonly session sees the same catalog', async () => {
    const { page } = await c.signIn('readonly');
    await page.getByRole('link', { name: 'Catalog' }).click();
    await rowOf(page, low).waitFor();
    assert.match(await rowOf(page, low).innerText(), /Low stock/);
    await checkPage(page, 'catalog-readonly');
  });
});
