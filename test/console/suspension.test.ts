/**
 * Suspending and reinstating a member in the console, in headless Chromium against the real
 * stack: ops suspend with a reason (a missing one is refused in the form), the page shows the
 * status and offers reinstatement; the API then refuses the member's events; readonly is offered
 * neither.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkPage, startConsoleTest, type ConsoleTest } from '../support/browser';
import { enrol, post, purchase } from '../support/ledger';
import { usePrograms } from './support';

describe('console: suspend and reinstate a member', () => {
  let c: ConsoleTest;
  let memberId: string;
  before(async () => {
    c = await startConsoleTest('console-suspension');
    await usePrograms(c.t);
    memberId = await enrol(c.t);
  });
  after(async () => {
    await c?.stop();
  });

  it('ops suspend with a reason, the API refuses earning, then reinstate', async () => {
    const { page } = await c.signIn('ops');
    await page.goto(`${c.t.baseUrl}/console/members/${memberId}`);
    await page.getByRole('heading', { name: 'Suspend the member' }).waitFor();

    await page.getByRole('button', { name: 'Suspend' }).click();
    await page
      .getByRole('alert')
      .getByText(/at least 3 characters/)
      .waitFor();

    await page.getByLabel('Reason (kept in the audit)').fill('Account farming, case 7');
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page
      .getByRole('status')
      .getByText(/^Suspended:/)
      .waitFor();
    await page.getByRole('heading', { name: 'Reinstate the member' }).waitFor();
    assert.equal((await c.t.api('GET', `/members/${memberId}`)).body.status, 'suspended');
    const refused = await post(c.t, purchase(memberId, [{ sku: 'tee', amount: 10 }]));
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    await checkPage(page, 'member-suspended');

    await page.getByLabel('Reason (kept in the audit)').fill('Cleared by the fraud team');
    await page.getByRole('button', { name: 'Reinstate' }).click();
    await page
      .getByRole('status')
      .getByText(/^Reinstated:/)
      .waitFor();
    await page.getByRole('heading', { name: 'Suspend the member' }).waitFor();
    assert.equal((await c.t.api('GET', `/members/${memberId}`)).body.status, 'active');
    const audit = await c.t.api('GET', `/members/${memberId}/suspensions`);
    assert.deepEqual(
      audit.body.items.map((i: { action: string; actor: string }) => [i.action, i.actor]),
      [
        ['reinstate', 'ops:console-suspension-ops'],
        ['suspend', 'ops:console-suspension-ops'],
      ],
    );
  });

  it('readonly is offered neither', async () => {
    const { page } = await c.signIn('readonly');
    await page.goto(`${c.t.baseUrl}/console/members/${memberId}`);
    await page.getByRole('heading', { name: 'Balances' }).waitFor();
    assert.equal(await page.getByRole('heading', { name: /Suspend|Reinstate/ }).count(), 0);
  });
});
