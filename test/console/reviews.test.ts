/**
 * The review queue in the console, in headless Chromium against the real stack: a redemption
 * above `reviewAbovePoints` is held (through the API); ops see it with its reason and deadline,
 * are asked for a reason first, then approve one and reject another. A readonly session sees the
 * queue with no way to decide. A redemption held by an anomaly detector (redemption velocity)
 * shows the detector and what it found.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { ProgramInput } from '../../domain/program';
import { checkPage, startConsoleTest, type ConsoleTest } from '../support/browser';
import type { TestContext } from '../support/context';
import { balanceOf, publishProgram } from '../support/ledger';
import { createReward, memberWithPoints, redeem, waitForStatus } from '../support/redemptions';
import { consoleProgram } from './support';

async function heldRedemption(t: TestContext) {
  const rewardId = await createReward(t, { pointsCost: 600, onHand: 5 });
  const memberId = await memberWithPoints(t, 1000);
  const res = await redeem(t, { memberId, rewardId });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.status, 'in_review');
  return { id: res.body.redemptionId as string, memberId };
}

const cardOf = (page: Page, id: string) => page.locator(`li[data-review="${id}"]`);

describe('console: redemptions held for review', () => {
  let c: ConsoleTest;
  let inForce: ProgramInput | undefined;
  before(async () => {
    c = await startConsoleTest('console-reviews');
    inForce = (await c.t.api('GET', '/rule-sets/active')).body.program as ProgramInput;
    await publishProgram(c.t, {
      ...consoleProgram,
      redemption: {
        ...consoleProgram.redemption,
        reviewAbovePoints: 500,
        reviewDeadline: '10 minutes',
        reviewReminderBefore: '5 minutes',
      },
      detection: { redemptionVelocity: [{ window: '1 hour', maxEvents: 1 }] },
    });
  });
  after(async () => {
    // The database is shared with the files after this one: the programme in force goes back.
    if (inForce) await publishProgram(c.t, inForce);
    await c?.stop();
  });

  it('ops see why it was held, give a reason, approve one and reject another', async () => {
    const approved = await heldRedemption(c.t);
    const rejected = await heldRedemption(c.t);
    const { page } = await c.signIn('ops');
    await page.getByRole('link', { name: 'Reviews' }).click();
    await page.getByRole('heading', { name: 'Redemptions held for review' }).waitFor();
    const card = cardOf(page, approved.id);
    await card.waitFor();
    assert.match(await card.locator('.reasons').innerText(), /600 points is above the 500/);
    await card.getByRole('timer').waitFor();
    await checkPage(page, 'reviews');

    await card.getByRole('button', { name: 'Approve redemption' }).click();
    await card.getByRole('alert').getByText('Give a reason of at least 3 characters.').waitFor();
    await waitForStatus(c.t, approved.id, 'in_review');

    await card.getByLabel(/Reason/).fill('Known customer');
    await card.getByRole('button', { name: 'Approve redemption' }).click();
    await page
      .getByRole('status')
      .getByText(/^Approved: redemption/)
      .waitFor();
    await card.waitFor({ state: 'detached' });
    await waitForStatus(c.t, approved.id, 'completed');

    const other = cardOf(page, rejected.id);
    await other.getByLabel(/Reason/).fill('Farmed account');
    await other.getByRole('button', { name: 'Reject redemption' }).click();
    await page
      .getByRole('status')
      .getByText(/^Rejected: redemption/)
      .waitFor();
    await waitForStatus(c.t, rejected.id, 'cancelled');
    assert.deepEqual(await balanceOf(c.t, rejected.memberId), {
      available: 1000,
      pending: 0,
      held: 0,
      debt: 0,
    });
  });

  it('a redemption held by an anomaly detector shows what it found', async () => {
    const rewardId = await createReward(c.t, { pointsCost: 100, onHand: 5 });
    const memberId = await memberWithPoints(c.t, 1000);
    const first = await redeem(c.t, { memberId, rewardId });
    assert.notEqual(first.body.status, 'in_review', 'below every threshold');
    const second = await redeem(c.t, { memberId, rewardId });
    assert.equal(second.body.status, 'in_review', JSON.stringify(second.body));
    const { page } = await c.signIn('ops');
    await page.getByRole('link', { name: 'Reviews' }).click();
    const card = cardOf(page, second.body.redemptionId as string);
    await card.waitFor();
    const reason = card.locator('.reasons li[data-source="anomaly.redemptionVelocity"]');
    assert.equal(await reason.innerText(), 'Anomaly: Redemption velocity: 2 events > 1 in 1 hour');
    assert.equal(await card.locator('.reasons li').count(), 1, 'below reviewAbovePoints');
    await checkPage(page, 'reviews-anomaly');
  });

  it('a readonly session sees the queue but no way to decide', async () => {
    const { id } = await heldRedemption(c.t);
    const { page } = await c.signIn('readonly');
    await page.getByRole('link', { name: 'Reviews' }).click();
    await cardOf(page, id).waitFor();
    await page.getByText('Your role (readonly) can view reviews, not decide them.').waitFor();
    assert.equal(await page.getByRole('button', { name: /Approve|Reject/ }).count(), 0);
    await checkPage(page, 'reviews-readonly');
  });
});
