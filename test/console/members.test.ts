/**
 * Member lookup in the console, in headless Chromium against the real stack: a member with an
 * accrual, an ops grant and a redemption (made through the API) is found by email in any case;
 * their ledger lines, as shown, add up to the total shown and each says why, under which rule
 * version, from which event and by whom; an adjustment made in the console shows up. A readonly
 * session finds the member too but is offered no adjustment.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { checkPage, startConsoleTest, type ConsoleTest } from '../support/browser';
import { eventually } from '../support/context';
import { balanceOf, post, purchase } from '../support/ledger';
import { createReward, redeem, waitForStatus } from '../support/redemptions';
import { usePrograms } from './support';

/** "+1,100" or "-50" as a person reads it, as a number. */
const points = (text: string): number => Number(text.trim().replace(/[+,]/g, ''));

/** The ledger as the page shows it: each line's kind, points and cells. */
async function shownLedger(page: Page) {
  const rows = page.locator('table.ledger tbody tr');
  const lines: { kind: string; amount: number; cells: string[] }[] = [];
  for (let i = 0; i < (await rows.count()); i++) {
    const row = rows.nth(i);
    lines.push({
      kind: (await row.getAttribute('data-kind')) ?? '',
      amount: points(await row.locator('.amount').innerText()),
      cells: await row.locator('td').allInnerTexts(),
    });
  }
  return lines;
}

const shownTotal = async (page: Page) =>
  points(await page.locator('[data-balance="total"] dd').innerText());

describe('console: member lookup, the ledger explained, adjustments', () => {
  let c: ConsoleTest;
  let memberId: string;
  let externalId: string;
  let email: string;
  before(async () => {
    c = await startConsoleTest('console-members');
    await usePrograms(c.t);
    externalId = `cust-${randomUUID().slice(0, 8)}`;
    email = `${externalId}@example.com`;
    const enrolled = await c.t.api('POST', '/members', {
      body: { externalId, email, name: 'Ana Lima' },
    });
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    memberId = enrolled.body.id as string;
    const earned = await post(c.t, purchase(memberId, [{ sku: 'tee', amount: 300 }]));
    assert.ok([200, 201, 202].includes(earned.status), JSON.stringify(earned.body));
    const granted = await c.t.api('POST', `/members/${memberId}/adjustments`, {
      key: c.t.keys.ops,
      body: { points: 500, reason: 'Welcome gift', reference: 'CASE-1' },
    });
    assert.equal(granted.status, 201, JSON.stringify(granted.body));
    await eventually('the purchase to be credited', async () =>
      (await balanceOf(c.t, memberId)).available === 800 ? true : undefined,
    );
    const rewardId = await createReward(c.t, { pointsCost: 200, onHand: 5 });
    const res = await redeem(c.t, { memberId, rewardId });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await waitForStatus(c.t, res.body.redemptionId as string, 'completed');
  });
  after(async () => {
    await c?.stop();
  });

  it('finds a member by email in any case; the ledger lines add up to the total shown', async () => {
    const { page } = await c.signIn('ops');
    await page.getByRole('link', { name: 'Members' }).click();
    await page.getByRole('heading', { name: 'Members' }).waitFor();
    await page.getByLabel('Member id, external id or email').fill('NO-SUCH-MEMBER');
    await page.keyboard.press('Enter');
    await page.getByText('No member has the id, external id or email NO-SUCH-MEMBER.').waitFor();

    await page.getByLabel('Member id, external id or email').fill(email.toUpperCase());
    await page.keyboard.press('Enter');
    const row = page.locator(`tr[data-member="${memberId}"]`);
    await row.waitFor();
    assert.deepEqual(await row.locator('td').allInnerTexts(), [
      'Ana Lima',
      externalId,
      email,
      'Member',
      'active',
      '600',
    ]);
    await checkPage(page, 'members-lookup');
    await row.getByRole('link', { name: 'Ana Lima' }).click();
    await page.getByRole('heading', { name: 'Member Ana Lima' }).waitFor();
    await page.locator('table.ledger').waitFor();

    const api = (await c.t.api('GET', `/members/${memberId}/ledger?limit=500`)).body;
    const balance = await balanceOf(c.t, memberId);
    const total = balance.available + balance.pending + balance.held - balance.debt;
    const lines = await shownLedger(page);
    assert.equal(lines.length, api.entries.length);
    assert.equal(await shownTotal(page), total);
    assert.equal(
      lines.reduce((sum, line) => sum + line.amount, 0),
      await shownTotal(page),
      'the lines shown add up to the total shown',
    );
    assert.equal(points(await page.locator('[data-balance="available"] dd').innerText()), 600);

    // Each line explained: the accrual's reason, rule version, source event and order, and actor.
    const accrual = api.entries.find((e: { kind: string }) => e.kind === 'accrual');
    const shown = lines.find((line) => line.kind === 'accrual')!;
    assert.equal(shown.amount, 300);
    const [, what, , after, version, source, actor] = shown.cells;
    assert.ok(what!.includes(accrual.reason), what);
    assert.equal(points(after!), accrual.balanceAfter.total);
    assert.equal(version, `v${accrual.ruleVersion}`);
    assert.equal(source, `purchase ${accrual.source.eventId} (order ${accrual.source.orderId})`);
    assert.equal(actor, accrual.actor);
    const grant = lines.find((line) => line.cells[1]!.includes('Welcome gift'))!;
    assert.equal(grant.amount, 500);
    assert.equal(grant.cells[6], 'ops:console-members-ops');
    assert.deepEqual(
      lines.map((line) => line.kind),
      api.entries.map((e: { kind: string }) => e.kind),
    );
    const redemptions = page.getByRole('region', { name: 'Redemptions' });
    assert.equal(await redemptions.locator('tbody tr').count(), 1);
    assert.match(await redemptions.locator('tbody tr').innerText(), /completed/);
    await checkPage(page, 'member');
  });

  it('an adjustment made in the console shows up in the ledger and the balances', async () => {
    const { page } = await c.signIn('ops');
    await page.goto(`${c.t.baseUrl}/console/members/${memberId}`);
    await page.locator('table.ledger').waitFor();
    const before = await shownLedger(page);

    await page.getByLabel('Points (negative removes)').fill('0');
    await page.getByLabel('Reason (kept in the ledger)').fill('Goodwill correction');
    await page.getByRole('button', { name: 'Adjust' }).click();
    await page
      .getByRole('alert')
      .getByText(/a whole number, not 0/)
      .waitFor();
    assert.equal((await shownLedger(page)).length, before.length);

    await page.getByLabel('Points (negative removes)').fill('-50');
    await page.getByLabel('Ticket (optional)').fill('CASE-2');
    await page.getByRole('button', { name: 'Adjust' }).click();
    await page
      .getByRole('status')
      .getByText('Adjusted by -50 points: available now 550.')
      .waitFor();
    await eventually('the new line to show', async () =>
      (await shownLedger(page)).length === before.length + 1 ? true : undefined,
    );
    const after = await shownLedger(page);
    const last = after.at(-1)!;
    assert.equal(last.kind, 'adjustment');
    assert.equal(last.amount, -50);
    assert.match(last.cells[1]!, /Goodwill correction/);
    assert.equal(last.cells[6], 'ops:console-members-ops');
    assert.equal(points(await page.locator('[data-balance="available"] dd').innerText()), 550);
    assert.equal(
      after.reduce((sum, line) => sum + line.amount, 0),
      await shownTotal(page),
    );
    assert.equal((await balanceOf(c.t, memberId)).available, 550);
    await checkPage(page, 'member-adjusted');
  });

  it('an adjustment whose answer was lost, sent again, is made once', async () => {
    const { page } = await c.signIn('ops');
    await page.goto(`${c.t.baseUrl}/console/members/${memberId}`);
    await page.locator('table.ledger').waitFor();
    const before = (await shownLedger(page)).length;
    const available = (await balanceOf(c.t, memberId)).available;
    // The first answer never reaches the page (the server has done the adjustment by then).
    let lost = false;
    await page.route(`**/members/${memberId}/adjustments`, async (route) => {
      if (lost) return route.continue();
      lost = true;
      await route.fetch();
      await route.abort('connectionreset');
    });
    await page.getByLabel('Points (negative removes)').fill('25');
    await page.getByLabel('Reason (kept in the ledger)').fill('Lost answer, sent again');
    await page.getByRole('button', { name: 'Adjust' }).click();
    await page.getByRole('alert').getByText('The API cannot be reached').waitFor();
    assert.equal((await balanceOf(c.t, memberId)).available, available + 25);

    await page.getByRole('button', { name: 'Adjust' }).click();
    await page
      .getByRole('status')
      .getByText(`Adjusted by +25 points: available now ${available + 25}.`)
      .waitFor();
    assert.equal((await balanceOf(c.t, memberId)).available, available + 25);
    await eventually('the ledger to reload', async () =>
      (await shownLedger(page)).length > before ? true : undefined,
    );
    const added = (await shownLedger(page)).slice(before);
    assert.deepEqual(
      added.map((line) => [line.amount, line.cells[1]]),
      [[25, 'adjustment Lost answer, sent again']],
    );
    await page.unroute(`**/members/${memberId}/adjustments`);
  });

  it('says so when the member does not exist, or the API refuses an adjustment', async () => {
    const { page } = await c.signIn('ops');
    const missing = randomUUID();
    await page.goto(`${c.t.baseUrl}/console/members/${missing}`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), new RegExp(`No member with id '${missing}'`));
    await alert.getByRole('button', { name: 'Try again' }).waitFor();

    await page.goto(`${c.t.baseUrl}/console/members/${memberId}`);
    await page.locator('table.ledger').waitFor();
    const lines = (await shownLedger(page)).length;
    const available = (await balanceOf(c.t, memberId)).available;
    await page.getByLabel('Points (negative removes)').fill(String(-(available + 1000)));
    await page.getByLabel('Reason (kept in the ledger)').fill('Too much');
    await page.getByRole('button', { name: 'Adjust' }).click();
    const refused = page.getByRole('region', { name: 'Adjust points' }).getByRole('alert');
    await refused.waitFor();
    assert.equal(
      await refused.innerText(),
      `Cannot remove ${available + 1000} points: ${available} available. — points: exceeds the ${available} points available`,
    );
    assert.equal((await balanceOf(c.t, memberId)).available, available);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByText(/^Updated /).waitFor();
    assert.equal((await shownLedger(page)).length, lines);
  });

  it('readonly finds the member by external id and sees the ledger, with no adjustment', async () => {
    const { page } = await c.signIn('readonly');
    await page.getByRole('link', { name: 'Members' }).click();
    await page.getByLabel('Member id, external id or email').fill(externalId);
    await page.getByRole('button', { name: 'Find' }).click();
    await page.locator(`tr[data-member="${memberId}"]`).getByRole('link').click();
    await page.locator('table.ledger').waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Adjust points' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Adjust' }).count(), 0);
    await checkPage(page, 'member-readonly');
  });
});
