/**
 * The programme-health dashboard in headless Chromium against the real stack: after accruals,
 * grants, a redemption delivered and a reward gone low on stock (all through the API), each tile
 * shows the API's figure for the window the page names, for the default range and a shorter one;
 * the charts plot the API's series. A readonly session sees the dashboard too.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { checkPage, startConsoleTest, type ConsoleTest } from '../support/browser';
import { eventually } from '../support/context';
import { post, purchase } from '../support/ledger';
import { createReward, memberWithPoints, redeem, waitForStatus } from '../support/redemptions';
import { completedRedemption, usePrograms } from './support';

type Health = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test

const n = (value: number) => value.toLocaleString('en');
const rate = (value: number | null) =>
  value === null
    ? '—'
    : new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 1 }).format(value);
const money = (amount: number, currency: string) =>
  new Intl.NumberFormat('en', { style: 'currency', currency }).format(amount);

/** What each tile should read, from the API's answer. */
function expectedTiles(h: Health): Record<string, string> {
  const tiles: Record<string, string> = {
    'members.active': n(h.members.active),
    'members.dormant': n(h.members.dormant),
    'members.closed': n(h.members.closed),
    'members.enrolled': n(h.members.enrolled),
    'points.outstanding.total': n(h.points.outstanding.total),
    'points.window.issued': n(h.points.window.issued),
    'points.window.redeemed': n(h.points.window.redeemed),
    'points.window.expired': n(h.points.window.expired),
    'points.window.adjusted': n(h.points.window.adjusted),
    'points.breakageRate': rate(h.points.breakageRate),
    'points.redemptionRate': rate(h.points.redemptionRate),
    'redemptions.velocity.perDay.current': n(h.redemptions.velocity.perDay.current),
    'redemptions.velocity.perHour.current': n(h.redemptions.velocity.perHour.current),
    'redemptions.requested': n(h.redemptions.requested),
    'redemptions.delivered': n(h.redemptions.delivered),
    'redemptions.failed': n(h.redemptions.failed),
    'redemptions.cancelled': n(h.redemptions.cancelled),
    'redemptions.sla.breaches': n(h.redemptions.sla.breaches),
    'redemptions.sla.openPastSla': n(h.redemptions.sla.openPastSla),
    'redemptions.serviceRecovery.credits': n(h.redemptions.serviceRecovery.credits),
    'stock.atOrUnderThreshold': n(h.stock.atOrUnderThreshold),
    'webhooks.failing': n(h.webhooks.failing),
  };
  for (const l of h.points.liability)
    tiles[`points.liability.${l.currency}`] = money(l.amount, l.currency);
  for (const c of h.fulfilment.cost)
    tiles[`fulfilment.cost.${c.currency}`] = money(c.total.amount, c.total.currency);
  return tiles;
}

/** Every tile on the page: figure → the value a person reads. */
async function shownTiles(page: Page): Promise<Record<string, string>> {
  const tiles = page.locator('.tile[data-figure]');
  const shown: Record<string, string> = {};
  for (let i = 0; i < (await tiles.count()); i++) {
    const tile = tiles.nth(i);
    shown[(await tile.getAttribute('data-figure'))!] = await tile.locator('.value').innerText();
  }
  return shown;
}

/** The window the page says its flows are over (its <time> elements). */
async function shownWindow(page: Page) {
  const times = page.locator('.window time');
  return {
    from: (await times.nth(0).getAttribute('datetime'))!,
    to: (await times.nth(1).getAttribute('datetime'))!,
  };
}

/** The tiles equal the API's figures for the page's window (refreshed if the stack moved on). */
async function assertTilesMatchApi(c: ConsoleTest, page: Page): Promise<Health> {
  let last:
    { expected: Record<string, string>; shown: Record<string, string | undefined> } | undefined;
  try {
    return await eventually('the tiles to equal the API', async () => {
      await page.locator('.tile[data-figure]').first().waitFor();
      const window = await shownWindow(page);
      const api = await c.t.api('GET', `/program/health?from=${window.from}&to=${window.to}`);
      assert.equal(api.status, 200, JSON.stringify(api.body));
      const expected = expectedTiles(api.body);
      const shown = await shownTiles(page);
      const picked = Object.fromEntries(Object.keys(expected).map((k) => [k, shown[k]]));
      last = { expected, shown: picked };
      if (JSON.stringify(picked) === JSON.stringify(expected)) return api.body as Health;
      await page.getByRole('button', { name: 'Refresh' }).click();
      return undefined;
    });
  } catch (err) {
    assert.deepEqual(last?.shown, last?.expected, (err as Error).message);
    throw err;
  }
}

describe('console: programme health', () => {
  let c: ConsoleTest;
  before(async () => {
    c = await startConsoleTest('console-health');
    await usePrograms(c.t);
    const memberId = await memberWithPoints(c.t, 700);
    const earned = await post(c.t, purchase(memberId, [{ sku: 'mug', amount: 120 }]));
    assert.equal(earned.status, 201, JSON.stringify(earned.body));
    await completedRedemption(c.t);
    // A reward at its threshold: stock stands out on the dashboard.
    const low = await createReward(c.t, { pointsCost: 100, onHand: 2, threshold: 3 });
    const res = await redeem(c.t, { memberId, rewardId: low });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await waitForStatus(c.t, res.body.redemptionId as string, 'completed');
  });
  after(async () => {
    await c?.stop();
  });

  it('the tiles equal the API’s figures, for the default range and the last 24 hours', async () => {
    const { page } = await c.signIn('ops');
    await page.getByRole('link', { name: 'Programme health' }).click();
    await page.getByRole('heading', { name: 'Programme health' }).waitFor();
    assert.equal(await page.getByLabel('Time range').inputValue(), '30d');
    const health = await assertTilesMatchApi(c, page);
    const window = await shownWindow(page);
    assert.equal(Date.parse(window.to) - Date.parse(window.from), 30 * 86_400_000);
    // What was seeded is there: not a dashboard of zeros.
    assert.ok(health.points.window.issued >= 120, JSON.stringify(health.points.window));
    assert.ok(health.redemptions.delivered >= 2);
    assert.ok(health.stock.atOrUnderThreshold >= 1);
    const stockTile = page.locator('.tile[data-figure="stock.atOrUnderThreshold"]');
    assert.match((await stockTile.getAttribute('class')) ?? '', /alert/);

    // Charts: one per series group, each with the API's series in its data table.
    assert.equal(await page.locator('figure[data-chart] svg[role="img"]').count(), 4);
    const series = await c.t.api(
      'GET',
      `/program/health/series?metric=points_issued&bucket=day&from=${window.from}&to=${window.to}`,
    );
    const chart = page.locator('figure[data-chart="points-flows"]');
    await chart.getByText('Data', { exact: true }).click();
    const issued = await chart.locator('details tbody tr td:nth-child(2)').allInnerTexts();
    assert.deepEqual(
      issued,
      series.body.points.map((p: { value: number }) => n(p.value)),
    );
    await chart.getByText('Data', { exact: true }).click();
    await checkPage(page, 'health');
    if (process.env.CONSOLE_DOCS_SCREENSHOTS) {
      const docs = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');
      fs.mkdirSync(docs, { recursive: true });
      await page.screenshot({ path: path.join(docs, 'health.png'), fullPage: true });
    }

    await page.getByLabel('Time range').selectOption('24h');
    await eventually('the window to be the last 24 hours', async () => {
      const w = await shownWindow(page);
      return Date.parse(w.to) - Date.parse(w.from) === 86_400_000 ? true : undefined;
    });
    await assertTilesMatchApi(c, page);
    const hourly = page.locator('figure[data-chart="redemptions"] svg[role="img"]');
    assert.match((await hourly.getAttribute('aria-label')) ?? '', /per hour/);
  });

  it('a readonly session sees the dashboard', async () => {
    const { page } = await c.signIn('readonly');
    await page.getByRole('link', { name: 'Programme health' }).click();
    await assertTilesMatchApi(c, page);
    await checkPage(page, 'health-readonly');
  });
});
