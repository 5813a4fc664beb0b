/**
 * Frozen points on the member page, in headless Chromium against the real stack: accruals flagged
 * by the earning velocity detector are listed with why; ops release one and void the other, each
 * with a reason asked for in a dialog (a missing one is refused in the form); readonly sees the
 * list but no decision. Detection is programme-wide, so the file has a database of its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { checkPage, startConsoleTest, type ConsoleTest } from '../support/browser';
import { freshDatabase } from '../support/database';
import { enrol, post, publishProgram } from '../support/ledger';
import { consoleProgram } from './support';

describe('console: frozen points on the member page', () => {
  let c: ConsoleTest;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let memberId: string;
  before(async () => {
    database = await freshDatabase('console_frozen');
    c = await startConsoleTest('console-frozen', { DATABASE_URL: database.url });
    await publishProgram(c.t, {
      ...consoleProgram,
      detection: { earningVelocity: [{ window: '1 hour', maxEvents: 1 }] },
    });
    memberId = await enrol(c.t);
    const states: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await post(c.t, {
        type: 'referral',
        eventId: `evt-${randomUUID()}`,
        memberId,
        reference: `friend-${i}`,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      states.push(res.body.points.state as string);
    }
    assert.deepEqual(states, ['available', 'frozen', 'frozen']);
  });
  after(async () => {
    await c?.stop();
    await database.drop();
  });

  it('readonly sees the frozen points and why, and no decision', async () => {
    const { page } = await c.signIn('readonly');
    await page.goto(`${c.t.baseUrl}/console/members/${memberId}`);
    await page.getByRole('heading', { name: 'Frozen points' }).waitFor();
    const rows = page.locator('tr[data-frozen-entry]');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2);
    assert.match(await rows.first().innerText(), /earningVelocity: 2 events > 1 in 1 hour/);
    assert.equal(await page.locator('[data-balance="frozen"] dd').innerText(), '1,000');
    assert.equal(await page.getByRole('button', { name: /Release|Void/ }).count(), 0);
  });

  it('ops release one and void the other, each with a reason', async () => {
    const { page } = await c.signIn('ops');
    await page.goto(`${c.t.baseUrl}/console/members/${memberId}`);
    const rows = page.locator('tr[data-frozen-entry]');
    await rows.first().waitFor();
    const [first, second] = await Promise.all([
      rows.nth(0).getAttribute('data-frozen-entry'),
      rows.nth(1).getAttribute('data-frozen-entry'),
    ]);

    await rows.nth(0).getByRole('button', { name: 'Release…' }).click();
    const release = page.getByRole('dialog', { name: 'Release these frozen points' });
    await release.getByRole('button', { name: 'Release' }).click();
    await release
      .getByRole('alert')
      .getByText(/at least 3 characters/)
      .waitFor();
    await checkPage(page, 'member-frozen-release');
    await release.getByLabel('Reason (kept in the audit trail)').fill('Checked with the store');
    await release.getByRole('button', { name: 'Release' }).click();
    await page
      .getByRole('status')
      .getByText(/^Released:/)
      .waitFor();
    await page.locator(`tr[data-frozen-entry="${first}"]`).waitFor({ state: 'detached' });

    const row = page.locator(`tr[data-frozen-entry="${second}"]`);
    await row.getByRole('button', { name: 'Void…' }).click();
    const voiding = page.getByRole('dialog', { name: 'Void these frozen points' });
    await voiding.getByLabel('Reason (kept in the audit trail)').fill('Referral farming');
    await voiding.getByRole('button', { name: 'Void' }).click();
    await page
      .getByRole('status')
      .getByText(/^Voided:/)
      .waitFor();
    await page.getByText('Nothing frozen: no flagged accrual waits for review.').waitFor();
    await checkPage(page, 'member-frozen-decided');

    const member = await c.t.api('GET', `/members/${memberId}`);
    assert.equal(member.body.frozen, 0);
    assert.equal(member.body.balance.available, 1000);
    const audit = await c.t
      .db('frozen_decisions')
      .where({ member_id: memberId })
      .orderBy('at')
      .select('decision', 'reason', 'actor');
    assert.deepEqual(audit, [
      { decision: 'release', reason: 'Checked with the store', actor: 'ops:console-frozen-ops' },
      { decision: 'void', reason: 'Referral farming', actor: 'ops:console-frozen-ops' },
    ]);
  });
});
