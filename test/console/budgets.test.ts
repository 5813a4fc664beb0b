/**
 * Budgets on the programme-health page, in headless Chromium against the real stack: with a
 * reward budget half used, a points budget untouched and a liability ceiling (through the API),
 * each row shows the API's usage, state and projected run-out. Budgets are programme-wide, so the file has a
 * database of its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkPage, startConsoleTest, type ConsoleTest } from '../support/browser';
import { freshDatabase } from '../support/database';
import { publishProgram } from '../support/ledger';
import { createReward, memberWithPoints, redeem, redemptionProgram } from '../support/redemptions';

describe('console: budgets on programme health', () => {
  let c: ConsoleTest;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let sku: string;
  before(async () => {
    database = await freshDatabase('console_budgets');
    c = await startConsoleTest('console-budgets', { DATABASE_URL: database.url });
    sku = await createReward(c.t, { pointsCost: 100, onHand: 10 });
    await publishProgram(c.t, {
      ...redemptionProgram,
      budgets: {
        points: { perMonth: { limit: 1_000_000 } },
        rewards: { [sku]: { perDay: { limit: 2, warnAt: [50] } } },
        liability: { currency: 'EUR', limit: 1_000_000 },
      },
    });
    const memberId = await memberWithPoints(c.t, 500);
    const res = await redeem(c.t, { memberId, rewardId: sku });
    assert.equal(res.body.hold?.outcome, 'held', JSON.stringify(res.body));
  });
  after(async () => {
    await c?.stop();
    await database.drop();
  });

  it('each budget shows the API’s usage, state and run-out', async () => {
    const api = await c.t.api('GET', '/program/budgets', { key: c.t.keys.readonly });
    assert.equal(api.status, 200, JSON.stringify(api.body));
    const { page } = await c.signIn('readonly');
    await page.goto(`${c.t.baseUrl}/console/health`);
    await page.getByRole('heading', { name: 'Budgets' }).waitFor();
    for (const b of api.body.budgets as { budget: string; state: string; percent: number }[]) {
      const row = page.locator(`tr[data-budget="${b.budget}"]`);
      await row.waitFor();
      assert.equal(await row.getAttribute('data-state'), b.state, b.budget);
      assert.equal(await row.locator('[data-percent]').innerText(), `${b.percent} %`);
    }
    const reward = page.locator(`tr[data-budget="reward.${sku}.day"]`);
    assert.equal(await reward.getAttribute('data-state'), 'warning');
    assert.match(await reward.locator('[data-used]').innerText(), /^1 of 2 redemptions$/);
    assert.match(await reward.locator('[data-runs-out]').innerText(), /\d|not this period/);
    assert.equal(
      await page.locator('tr[data-budget="points.month"] [data-runs-out]').innerText(),
      'not this period',
    );
    const liability = page.locator('tr[data-budget="liability"]');
    assert.match(await liability.locator('[data-used]').innerText(), / of 1,000,000 EUR$/);
    assert.match(await liability.innerText(), /standing/);
    assert.match(await liability.locator('[data-runs-out]').innerText(), /\d|not at this rate/);
    await checkPage(page, 'health-budgets');
  });
});
