/**
 * Substitutions in the console, in headless Chromium against the real stack: a reward out of stock
 * whose policy asks ops makes a pending substitution (through the API); ops see its candidates
 * with stock and value and the deadline, approve one with a reason, and the redemption ships.
 * A readonly session sees the same substitution with no way to decide it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { checkPage, startConsoleTest, type ConsoleTest } from '../support/browser';
import { eventually, type TestContext } from '../support/context';
import { balanceOf } from '../support/ledger';
import { createReward, memberWithPoints, redeem, waitForStatus } from '../support/redemptions';
import { usePrograms } from './support';

/** A redemption of an out-of-stock reward whose policy asks ops, and two candidates in stock. */
async function pendingSubstitution(t: TestContext) {
  const category = `console${Date.now()}`;
  const substitution = {
    mode: 'approval',
    approvalDeadline: '10 minutes',
    reminderBefore: '5 minutes',
  };
  const wanted = await createReward(t, { category, cashValue: 100, onHand: 0, substitution });
  const close = await createReward(t, { category, cashValue: 105, onHand: 3 });
  const near = await createReward(t, { category, cashValue: 115, onHand: 2 });
  const memberId = await memberWithPoints(t, 500);
  const res = await redeem(t, { memberId, rewardId: wanted });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const id = res.body.redemptionId as string;
  await waitForStatus(t, id, 'substitution_pending');
  const sub = await eventually('the substitution to be pending', async () => {
    const found = await t.api('GET', `/substitutions/${id}`);
    const body = found.body as { status: string; deadlineAt: string | null };
    return found.status === 200 && body.status === 'pending' ? body : undefined;
  });
  return { id, memberId, wanted, close, near, sub };
}

const cardOf = (page: Page, id: string) => page.locator(`li[data-substitution="${id}"]`);

describe('console: substitutions awaiting a decision', () => {
  let c: ConsoleTest;
  before(async () => {
    c = await startConsoleTest('console-substitutions');
    await usePrograms(c.t);
  });
  after(async () => {
    await c?.stop();
  });

  it('ops approve a candidate with a reason in the console, and the redemption ships', async () => {
    const { id, wanted, close, near, sub } = await pendingSubstitution(c.t);
    const { page } = await c.signIn('ops');
    await page.getByRole('link', { name: 'Substitutions' }).click();
    await page.getByRole('heading', { name: 'Substitutions awaiting a decision' }).waitFor();
    const card = cardOf(page, id);
    await card.waitFor();
    assert.match(await card.innerText(), new RegExp(wanted));

    // Each candidate as the API offers it: name, SKU, value and the stock it has now.
    const rows = card.locator('table.candidates tbody tr');
    const skus: (string | null)[] = [];
    for (let i = 0; i < (await rows.count()); i++)
      skus.push(await rows.nth(i).getAttribute('data-sku'));
    assert.deepEqual(skus, [close, near]);
    const cells = async (sku: string) => card.locator(`tr[data-sku="${sku}"] td`).allInnerTexts();
    assert.deepEqual((await cells(close)).slice(1), ['105', '100', '3']);
    assert.deepEqual((await cells(near)).slice(1), ['115', '100', '2']);

    // The deadline counts down: a time left, the API's deadline, and it changes by the second.
    const timer = card.getByRole('timer');
    assert.equal(await timer.locator('time').getAttribute('datetime'), sub.deadlineAt);
    const before = await timer.locator('strong').innerText();
    assert.match(before, /^(9|10) min \d+ s left$/);
    await eventually('the countdown to tick', async () =>
      (await timer.locator('strong').innerText()) !== before ? true : undefined,
    );
    await checkPage(page, 'substitutions');

    // Approve without choosing: told so, nothing sent. Then by keyboard: the candidate, a reason.
    await card.getByLabel(/Reason/).fill('Member agreed by email');
    await card.getByRole('button', { name: 'Approve substitute' }).click();
    await card.getByRole('alert').getByText('Choose the candidate to send instead.').waitFor();
    assert.equal((await c.t.api('GET', `/substitutions/${id}`)).body.status, 'pending');
    await card.getByRole('radio', { name: new RegExp(near) }).focus();
    await page.keyboard.press('Space');
    assert.equal(await card.getByRole('radio', { name: new RegExp(near) }).isChecked(), true);
    await card.getByRole('button', { name: 'Approve substitute' }).click();

    const notice = page.getByRole('status').filter({ hasText: 'Approved' });
    await notice.waitFor();
    assert.match(
      await notice.innerText(),
      new RegExp(`Approved: .*${near}.* ships for redemption ${id}`),
    );
    // Decided, so it is no longer awaiting a decision.
    await card.waitFor({ state: 'detached' });

    const decided = (await c.t.api('GET', `/substitutions/${id}`)).body;
    assert.equal(decided.status, 'approved');
    assert.equal(decided.chosenSku, near);
    assert.equal(decided.reason, 'Member agreed by email');
    assert.equal(decided.decidedBy, 'ops:console-substitutions-ops');
    const done = await waitForStatus(c.t, id, 'completed');
    assert.ok(done.timeline.some((s: { step: string }) => s.step === 'shipped'));
    assert.equal(c.t.partners!.warehouse.get(id).sku, near);

    // The notice's link opens the redemption: its timeline shows the substitute shipped.
    await notice.getByRole('link', { name: `redemption ${id}` }).click();
    await page.getByRole('heading', { name: `Redemption ${id}` }).waitFor();
    await page.locator('.timeline li[data-step="shipped"]').waitFor();
    assert.match(
      await page.locator('.status-line .badge').first().innerText(),
      /completed|delivered/,
    );

    // The decided one under "approved", with who and why.
    await page.getByRole('link', { name: 'Substitutions' }).click();
    await page.getByLabel('Show').selectOption('approved');
    const shown = cardOf(page, id);
    await shown.waitFor();
    assert.match(
      await shown.innerText(),
      new RegExp(`approved ${near} by ops:console-substitutions-ops — Member agreed by email`),
    );
    await checkPage(page, 'substitutions-approved');
  });

  it('ops reject with a reason (asked for first); the member gets the points back', async () => {
    const { id, memberId } = await pendingSubstitution(c.t);
    const { page } = await c.signIn('ops');
    await page.getByRole('link', { name: 'Substitutions' }).click();
    const card = cardOf(page, id);
    await card.waitFor();
    await card.getByRole('button', { name: 'Reject substitution' }).click();
    await card.getByRole('alert').getByText('Give a reason of at least 3 characters.').waitFor();
    assert.equal((await c.t.api('GET', `/substitutions/${id}`)).body.status, 'pending');

    await card.getByLabel(/Reason/).fill('Nothing comparable in stock');
    await card.getByRole('button', { name: 'Reject substitution' }).click();
    await page
      .getByRole('status')
      .getByText(/^Rejected: redemption .* is refunded/)
      .waitFor();
    await card.waitFor({ state: 'detached' });
    const decided = (await c.t.api('GET', `/substitutions/${id}`)).body;
    assert.equal(decided.status, 'rejected');
    assert.equal(decided.reason, 'Nothing comparable in stock');
    await waitForStatus(c.t, id, 'failed');
    assert.deepEqual(await balanceOf(c.t, memberId), {
      available: 500,
      pending: 0,
      held: 0,
      debt: 0,
    });
  });

  it('a readonly session sees the candidates and the deadline but no way to decide', async () => {
    const { id } = await pendingSubstitution(c.t);
    const { page } = await c.signIn('readonly');
    await page.getByRole('link', { name: 'Substitutions' }).click();
    await cardOf(page, id).waitFor();
    await page.getByText('Your role (readonly) can view substitutions, not decide them.').waitFor();
    assert.equal(await cardOf(page, id).locator('table.candidates tbody tr').count(), 2);
    await cardOf(page, id).getByRole('timer').waitFor();
    assert.equal(await page.getByRole('button', { name: /Approve|Reject/ }).count(), 0);
    assert.equal(await page.getByRole('radio').count(), 0);
    await checkPage(page, 'substitutions-readonly');
  });
});
