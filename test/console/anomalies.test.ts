/**
 * The anomalies page, in headless Chromium against the real stack: with redemption velocity at 1
 * an hour and a burst at 3 accruals, one member redeems twice and another redeems right after
 * three purchases (through the API); both redemptions are held and each finding is listed with
 * its detector, member, redemption, what was seen against the threshold, and why. The detector
 * filter narrows the list. Findings are programme-wide, so the file has a database of its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { checkPage, startConsoleTest, type ConsoleTest } from '../support/browser';
import { freshDatabase } from '../support/database';
import { enrol, post, publishProgram, purchase } from '../support/ledger';
import { createReward, memberWithPoints, redeem } from '../support/redemptions';
import { consoleProgram } from './support';

const rows = (page: Page) => page.locator('table.anomalies tbody tr');

describe('console: anomalies', () => {
  let c: ConsoleTest;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let fast: { memberId: string; redemptionId: string };
  let burst: { memberId: string; redemptionId: string };

  const heldRedemption = async (memberId: string, rewardId: string) => {
    const res = await redeem(c.t, { memberId, rewardId });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.status, 'in_review', JSON.stringify(res.body));
    return { memberId, redemptionId: res.body.redemptionId as string };
  };

  before(async () => {
    database = await freshDatabase('console_anomalies');
    c = await startConsoleTest('console-anomalies', { DATABASE_URL: database.url });
    await publishProgram(c.t, {
      ...consoleProgram,
      redemption: {
        ...consoleProgram.redemption,
        reviewDeadline: '10 minutes',
        reviewReminderBefore: '5 minutes',
      },
      detection: {
        redemptionVelocity: [{ window: '1 hour', maxEvents: 1 }],
        burstThenRedeem: { window: '1 hour', minAccruals: 3 },
      },
    });
    const rewardId = await createReward(c.t, { pointsCost: 100, onHand: 10 });

    const a = await memberWithPoints(c.t, 1000);
    const first = await redeem(c.t, { memberId: a, rewardId });
    assert.notEqual(first.body.status, 'in_review', JSON.stringify(first.body));
    fast = await heldRedemption(a, rewardId);

    const b = await enrol(c.t);
    for (let i = 0; i < 3; i++) {
      const res = await post(c.t, purchase(b, [{ sku: 'mug', amount: 100 }]));
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    burst = await heldRedemption(b, rewardId);
  });
  after(async () => {
    await c?.stop();
    await database.drop();
  });

  it('lists each finding: detector, member, redemption, seen against threshold, why', async () => {
    const { page } = await c.signIn('readonly');
    await page.getByRole('link', { name: 'Anomalies' }).click();
    await page.getByRole('heading', { name: 'Anomalies found' }).waitFor();
    await rows(page).nth(1).waitFor();
    assert.equal(await rows(page).count(), 2);
    // Newest first: the burst's redemption was screened last.
    const order = [];
    for (const tr of await rows(page).all()) order.push(await tr.getAttribute('data-detector'));
    assert.deepEqual(order, ['burstThenRedeem', 'redemptionVelocity']);

    const velocity = page.locator('tr[data-detector="redemptionVelocity"]');
    const cells = await velocity.locator('td').allInnerTexts();
    assert.equal(cells[1], 'Redemption velocity');
    assert.equal(cells[2], fast.memberId);
    assert.equal(cells[3], `Redemption ${fast.redemptionId}`);
    // As stored (jsonb orders keys: shorter first, then alphabetically).
    assert.equal(cells[4], 'events 2, points 200, window 1 hour');
    assert.equal(cells[5], 'window 1 hour, maxEvents 1');
    assert.equal(cells[6], '2 events > 1 in 1 hour');
    assert.equal(
      await velocity.getByRole('link', { name: fast.memberId }).getAttribute('href'),
      `/console/members/${fast.memberId}`,
    );

    const burstRow = page.locator('tr[data-detector="burstThenRedeem"]');
    assert.equal(await burstRow.locator('[data-seen]').innerText(), 'window 1 hour, accruals 3');
    assert.match(await burstRow.locator('[data-why]').innerText(), /after 3 accruals in 1 hour/);
    await checkPage(page, 'anomalies');

    await burstRow.getByRole('link', { name: burst.redemptionId }).click();
    await page.waitForURL(`**/console/redemptions/${burst.redemptionId}`);
  });

  it('filters by detector, and says when a detector found nothing', async () => {
    const { page } = await c.signIn('ops');
    await page.getByRole('link', { name: 'Anomalies' }).click();
    await rows(page).nth(1).waitFor();
    const detector = page.getByLabel('Detector');

    await detector.selectOption({ label: 'Burst then redeem' });
    await page.locator('tr[data-detector="redemptionVelocity"]').waitFor({ state: 'detached' });
    assert.equal(await rows(page).count(), 1);
    assert.equal(await rows(page).first().getAttribute('data-detector'), 'burstThenRedeem');
    assert.match(await rows(page).first().innerText(), new RegExp(burst.memberId));

    await detector.selectOption({ label: 'Impossible travel' });
    await page.getByText('Impossible travel found nothing.').waitFor();
    assert.equal(await rows(page).count(), 0);

    await detector.selectOption({ label: 'Every detector' });
    await rows(page).nth(1).waitFor();
    await checkPage(page, 'anomalies-ops');
  });
});
