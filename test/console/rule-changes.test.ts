/**
 * Rule changes in the console, in headless Chromium against the real stack: a change proposed
 * through the API by one admin shows its diff and its what-if; its proposer is refused when they
 * try to approve it (the server's reason, in the dialog); a second admin approves it in the
 * browser, schedules it (today is a holiday: the page says where the launch window moved it) and
 * withdraws it. Another is rejected with a reason asked for first; readonly sees no decisions.
 * Nothing goes into force: the release state is as it was at the end. The test has a database of
 * its own, so the what-if replays exactly its purchases and its figures are recomputed here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createApiKey } from '../../api/keys';
import { defaultProgram } from '../../domain/program';
import { releaseState } from '../../ledger/releases';
import { checkPage, startConsoleTest, type ConsoleTest } from '../support/browser';
import { eventually } from '../support/context';
import { freshDatabase } from '../support/database';
import { enrol, post, purchase } from '../support/ledger';
import { consoleProgram, usePrograms } from './support';

const today = new Date().toISOString().slice(0, 10);
/** The past the what-if replays: this many purchases of 120 EUR, 120 points each today. */
const purchases = 80;
const fmt = new Intl.NumberFormat('en');

/** `consoleProgram` with twice the points per euro: the change under review. */
const doubled = {
  ...defaultProgram,
  ...consoleProgram,
  earning: { ...consoleProgram.earning, pointsPerUnit: { EUR: 2 } },
};

interface ChangeView {
  id: string;
  state: string;
  version: number | null;
  baseVersion: number | null;
  approvals: { actor: string; reason: string }[];
  activateAt: string | null;
  slotMovedBecause: string | null;
  simulation: { id: string; state: string; result: Record<string, any> | null } | null; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
}

async function proposed(c: ConsoleTest, description: string): Promise<ChangeView> {
  const res = await c.t.api('POST', '/rule-sets', {
    body: { description, program: doubled, propose: true },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.state, 'proposed');
  return res.body as ChangeView;
}

const getChange = async (c: ConsoleTest, id: string): Promise<ChangeView> =>
  (await c.t.api('GET', `/rule-changes/${id}`)).body as ChangeView;

/** A browser signed in with any key (the harness's `signIn` knows one key per role). */
async function signInWith(c: ConsoleTest, key: string): Promise<Page> {
  const { page } = await c.anonymous();
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Redemption queue' }).waitFor();
  return page;
}

const dialogOf = (page: Page, title: string) =>
  page.getByRole('dialog').filter({ has: page.getByRole('heading', { name: title }) });

describe('console: rule changes', () => {
  let c: ConsoleTest;
  let approverKey: string;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let releaseBefore: unknown;
  const release = async () => {
    const { generalVersion, cohort } = await releaseState(c.t.db);
    return { generalVersion, cohort };
  };
  before(async () => {
    // A database of its own: the what-if replays exactly this test's events.
    database = await freshDatabase();
    // Today is a holiday: a change scheduled for now waits for the next allowed slot.
    c = await startConsoleTest('console-rule-changes', {
      DATABASE_URL: database.url,
      LAUNCH_BLACKOUT_DAYS: [],
      LAUNCH_HOURS: { from: '00:00', to: '24:00' },
      PROGRAM_HOLIDAYS: [today],
      // One event per page: the what-if runs long enough to be seen running.
      SIMULATION_PAGE_SIZE: 1,
    });
    await usePrograms(c.t);
    releaseBefore = await release();
    approverKey = (
      await createApiKey(c.t.db, { role: 'admin', name: 'console-rule-changes-approver' })
    ).key;
    // Past events for the what-if to replay.
    const member = await enrol(c.t);
    for (let i = 0; i < purchases; i++) {
      const res = await post(c.t, purchase(member, [{ sku: 'shoes', amount: 120 }]));
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
  });
  after(async () => {
    if (c) assert.deepEqual(await release(), releaseBefore, 'nothing put in force');
    await c?.stop();
    await database?.drop();
  });

  it('the proposer is refused; another admin approves, schedules and withdraws it', async () => {
    const change = await proposed(c, 'Double points on EUR');
    const id = change.id;
    const done = await eventually('the what-if to complete', async () => {
      const view = await getChange(c, id);
      return view.simulation?.result ? view : undefined;
    });
    const result = done.simulation!.result!;

    // The proposer finds it in the list, among the proposed ones.
    const { page } = await c.signIn('admin');
    await page.getByRole('link', { name: 'Rule changes' }).click();
    await page.getByRole('heading', { name: 'Rule changes' }).waitFor();
    const row = page.locator(`tr[data-change="${id}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    assert.deepEqual(cells.slice(1, 5), [
      'Double points on EUR',
      'proposed',
      'admin:console-rule-changes-admin',
      '0 of 1',
    ]);
    // The first change in this database: one in all, one proposed, and the filter shows it.
    const counts = page.getByLabel('Rule changes per state');
    assert.deepEqual(await counts.getByRole('button').allInnerTexts(), ['All 1', 'proposed 1']);
    await page.locator('button[data-state="proposed"]').click();
    assert.equal(await page.locator('tbody tr').count(), 1);
    assert.deepEqual(
      [...new Set(await page.locator('tbody tr td:nth-child(3)').allInnerTexts())],
      ['proposed'],
    );
    await checkPage(page, 'rule-changes');

    // Its page: the diff field by field, the what-if's figures as the API computed them.
    await row.getByRole('link').click();
    await page.getByRole('heading', { name: `Rule change ${id}` }).waitFor();
    const diff = page.locator('tr[data-path="earning.pointsPerUnit.EUR"]');
    await diff.waitFor();
    assert.deepEqual(await diff.locator('td').allInnerTexts(), ['1', '→ 2']);
    const total = page.locator('.by-rule tr[data-rule="total"] td');
    await total.first().waitFor();
    assert.deepEqual(await total.allInnerTexts(), [
      fmt.format(result.points.actual),
      fmt.format(result.points.simulated),
      `${result.points.delta > 0 ? '+' : ''}${fmt.format(result.points.delta)}`,
    ]);
    // Recomputed here: 1 point per euro as it was, 2 under the change.
    assert.equal(result.points.actual, purchases * 120);
    assert.equal(result.points.simulated, purchases * 240);
    const figures = await page.getByLabel('Impact in figures').innerText();
    assert.match(figures, new RegExp(`Events replayed\\s+${fmt.format(result.events)}`));
    assert.match(
      figures,
      new RegExp(`Tier changes\\s+${result.tiers.up} up, ${result.tiers.down} down`),
    );
    await checkPage(page, 'rule-change-proposed');

    // The proposer tries to approve: the server's refusal, in the dialog; nothing changes.
    await page.getByRole('button', { name: 'Approve…' }).click();
    const approve = dialogOf(page, 'Approve this change');
    await approve.getByLabel(/Reason/).fill('Looks right to me');
    await approve.getByRole('button', { name: 'Approve', exact: true }).click();
    const refusal = approve.getByRole('alert');
    await refusal.waitFor();
    assert.match(
      await refusal.innerText(),
      new RegExp(
        `admin:console-rule-changes-admin proposed rule change ${id} and may not approve it`,
      ),
    );
    await checkPage(page, 'rule-change-own-approval-refused');
    await approve.getByRole('button', { name: 'Close' }).click();
    assert.equal((await getChange(c, id)).state, 'proposed');

    // A second admin approves it in the browser, with a reason.
    const other = await signInWith(c, approverKey);
    await other.goto(`${c.t.baseUrl}/console/rule-changes/${id}`);
    await other.getByRole('heading', { name: `Rule change ${id}` }).waitFor();
    await other.getByRole('button', { name: 'Approve…' }).click();
    const second = dialogOf(other, 'Approve this change');
    await second.getByLabel(/Reason/).fill('Impact reviewed with finance');
    await second.getByRole('button', { name: 'Approve', exact: true }).click();
    const approved = await eventually('the approval', async () => {
      const view = await getChange(c, id);
      return view.state === 'approved' ? view : undefined;
    });
    await other
      .getByRole('status')
      .getByText(`Approved: version ${approved.version} is published, not yet in force.`)
      .waitFor();
    await other.getByRole('heading', { name: 'Approvals: 1 of 1' }).waitFor();
    const approval = other.locator('li[data-approver="admin:console-rule-changes-approver"]');
    assert.match(await approval.innerText(), /Reason: Impact reviewed with finance/);
    await other.locator('.audit li[data-action="approved"]').waitFor();
    assert.match(
      await other.locator('.audit li[data-action="approved"]').innerText(),
      /by admin:console-rule-changes-approver\s+Reason: Impact reviewed with finance/,
    );
    assert.deepEqual(
      approved.approvals.map((a) => [a.actor, a.reason]),
      [['admin:console-rule-changes-approver', 'Impact reviewed with finance']],
    );
    await checkPage(other, 'rule-change-approved');

    // Scheduled for now: today is a holiday, so it waits, and the page says why.
    await other.getByRole('button', { name: 'Schedule…' }).click();
    const schedule = dialogOf(other, 'Schedule this change');
    await schedule.getByRole('button', { name: 'Schedule', exact: true }).click();
    const scheduled = await eventually('the schedule', async () => {
      const view = await getChange(c, id);
      return view.state === 'scheduled' ? view : undefined;
    });
    assert.ok(scheduled.slotMovedBecause, 'moved out of the holiday');
    assert.ok(Date.parse(scheduled.activateAt!) > Date.now());
    const notice = other.getByRole('status').filter({ hasText: 'Scheduled' });
    await notice.waitFor();
    assert.match(
      await notice.innerText(),
      /^Scheduled: goes into force .+ — moved from the time asked: /,
    );
    assert.ok((await notice.innerText()).includes(scheduled.slotMovedBecause));
    assert.equal(await notice.locator('time').getAttribute('datetime'), scheduled.activateAt);
    await other.locator('.moved').getByText(scheduled.slotMovedBecause).waitFor();
    await checkPage(other, 'rule-change-scheduled');

    // Withdrawn before it takes effect: nothing goes into force.
    await other.getByRole('button', { name: 'Withdraw…' }).click();
    const withdraw = dialogOf(other, 'Withdraw this change');
    await withdraw.getByLabel(/Reason/).fill('Finance wants it next quarter');
    await withdraw.getByRole('button', { name: 'Withdraw', exact: true }).click();
    await other
      .getByRole('status')
      .getByText('Withdrawn: the change will not go into force.')
      .waitFor();
    await eventually('the withdrawal', async () =>
      (await getChange(c, id)).state === 'withdrawn' ? true : undefined,
    );
    await other.locator('.status-line .badge', { hasText: 'withdrawn' }).waitFor();
    assert.equal(await other.getByRole('button', { name: /Approve|Schedule|Withdraw/ }).count(), 0);
  });

  it('a rejection asks for a reason first; readonly sees no decision', async () => {
    const { id } = await proposed(c, 'Double points, second try');
    const page = await signInWith(c, approverKey);
    await page.goto(`${c.t.baseUrl}/console/rule-changes/${id}`);
    await page.getByRole('button', { name: 'Reject…' }).click();
    const reject = dialogOf(page, 'Reject this change');
    await reject.getByRole('button', { name: 'Reject', exact: true }).click();
    await reject.getByRole('alert').getByText('Give a reason of at least 3 characters.').waitFor();
    assert.equal((await getChange(c, id)).state, 'proposed');
    await reject.getByLabel(/Reason/).fill('Too costly for Q4');
    await reject.getByRole('button', { name: 'Reject', exact: true }).click();
    await page
      .getByRole('status')
      .getByText('Rejected: the change will not go into force.')
      .waitFor();
    await page
      .locator('[data-rejection]')
      .getByText(/Too costly for Q4/)
      .waitFor();
    assert.equal((await getChange(c, id)).state, 'rejected');

    const { page: reader } = await c.signIn('readonly');
    await reader.getByRole('link', { name: 'Rule changes' }).click();
    await reader.locator(`tr[data-change="${id}"]`).getByRole('link').click();
    await reader.getByRole('heading', { name: `Rule change ${id}` }).waitFor();
    await reader
      .getByText('Your role (readonly) can view rule changes, not decide them.')
      .waitFor();
    assert.equal(await reader.getByRole('button', { name: /…$/ }).count(), 0);
    await checkPage(reader, 'rule-change-readonly');
  });
  it('a draft proposed in the browser shows its what-if running, then its figures', async () => {
    const made = await c.t.api('POST', '/rule-sets', {
      body: { description: 'Draft for review', program: doubled },
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const id = made.body.id as string;
    const { page } = await c.signIn('admin');
    await page.goto(`${c.t.baseUrl}/console/rule-changes/${id}`);
    await page.getByText('No what-if yet: it runs when the change is proposed.').waitFor();
    await page.getByRole('button', { name: 'Propose…' }).click();
    await dialogOf(page, 'Propose this change').getByRole('button', { name: 'Propose' }).click();
    await page.getByRole('status').getByText('Proposed: the what-if is running').waitFor();

    // While it runs: how many events of how many, as the simulation counts them.
    const running = page.locator('[data-simulation]');
    await running.getByText(/^Running… \d+ of \d+ events/).waitFor();
    const [, processed, total] = /Running… ([\d,]+) of ([\d,]+) events/.exec(
      await running.innerText(),
    )!;
    const simulation = (await getChange(c, id)).simulation!;
    const counted = (await c.t.api('GET', `/rule-sets/simulations/${simulation.id}`)).body as {
      progress: { total: number };
    };
    assert.equal(total, fmt.format(counted.progress.total));
    assert.ok(Number(processed!.replaceAll(',', '')) < counted.progress.total);
    await checkPage(page, 'rule-change-simulating');

    // Then its figures, without a reload.
    await page.locator('.by-rule tr[data-rule="total"]').waitFor({ timeout: 60_000 });
    const done = await getChange(c, id);
    assert.equal(done.simulation!.state, 'completed');
    assert.equal(done.simulation!.result!.events, counted.progress.total);
  });
});
