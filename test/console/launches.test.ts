/**
 * Launches in the console, in headless Chromium against the real stack: an approved rule change
 * is launched through the API with two named owners; the operations owner signs off in the
 * browser (only for their own area), the strategy owner (an admin) too; the checklist shows each
 * check's result; once ready, go, pause, resume and roll back are given from the browser with a
 * reason, and the page shows the cohort, the monitoring window's guard metrics and the audit
 * trail. The release state is as it was at the end (the cohort is rolled back); the test has a
 * database of its own (the readiness checks read the whole programme).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { defaultProgram } from '../../domain/program';
import { releaseState } from '../../ledger/releases';
import { checkPage, startConsoleTest, type ConsoleTest } from '../support/browser';
import { eventually } from '../support/context';
import { freshDatabase } from '../support/database';
import { approvedChange } from '../support/launches';
import { enrol } from '../support/ledger';
import { consoleProgram, usePrograms } from './support';

const name = 'console-launches';
const owners = { strategy: `admin:${name}-admin`, operations: `ops:${name}-ops` };
/** Tomorrow (UTC) is a holiday: a go-live asked for then waits for the day after. */
const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
const program = (pointsPerEur: number) => ({
  ...defaultProgram,
  ...consoleProgram,
  earning: { ...consoleProgram.earning, pointsPerUnit: { EUR: pointsPerEur } },
});

interface LaunchView {
  id: string;
  state: string;
  signoffs: { area: string; owner: string; signed: boolean; by: string | null }[];
  checks: { results: { name: string; ok: boolean; detail: string }[]; passed: boolean };
  cohort: { percent: number; version: number; previousVersion: number };
}

const getLaunch = async (c: ConsoleTest, id: string): Promise<LaunchView> =>
  (await c.t.api('GET', `/launches/${id}`)).body as LaunchView;

async function untilState(c: ConsoleTest, id: string, state: string): Promise<LaunchView> {
  return eventually(
    `the launch to be ${state}`,
    async () => {
      const view = await getLaunch(c, id);
      return view.state === state ? view : undefined;
    },
    60_000,
  );
}

const dialogOf = (page: Page, title: string) =>
  page.getByRole('dialog').filter({ has: page.getByRole('heading', { name: title }) });

/** Opens the command's dialog, gives the reason and sends it. */
async function command(page: Page, open: string, title: string, reason: string) {
  await page.getByRole('button', { name: open }).click();
  const dialog = dialogOf(page, title);
  await dialog.getByLabel(/Reason/).fill(reason);
  await dialog.getByRole('button', { name: title, exact: true }).click();
  await dialog.waitFor({ state: 'hidden' });
}

describe('console: launches', () => {
  let c: ConsoleTest;
  let releaseBefore: unknown;
  const release = async () => {
    const { generalVersion, cohort } = await releaseState(c.t.db);
    return { generalVersion, cohort };
  };
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  before(async () => {
    // A database of its own: the readiness checks read the whole programme (webhooks, stock).
    database = await freshDatabase();
    c = await startConsoleTest(name, {
      DATABASE_URL: database.url,
      LAUNCH_BLACKOUT_DAYS: [],
      LAUNCH_HOURS: { from: '00:00', to: '24:00' },
      PROGRAM_HOLIDAYS: [tomorrow],
    });
    await usePrograms(c.t);
    releaseBefore = await release();
  });
  after(async () => {
    if (c) assert.deepEqual(await release(), releaseBefore, 'the cohort is rolled back');
    await c?.stop();
    await database?.drop();
  });

  it('owners sign off in the browser; go, pause, resume and roll back from it', async () => {
    const { changeId } = await approvedChange(c.t, program(3));
    const named = await enrol(c.t);
    const res = await c.t.api('POST', '/launches', {
      body: {
        changeId,
        kind: 'benefit',
        name: 'Triple points pilot',
        owners,
        cohort: { percent: 10, members: [named] },
        stages: [100],
        monitoring: {
          window: '1 hour',
          every: '2 seconds',
          metrics: { accrualErrors: { threshold: 5, onBreach: 'rollback' } },
        },
        checks: { deadline: '10 minutes', every: '2 seconds' },
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.id as string;

    // The operations owner (ops) finds it and signs off for operations, and only for that.
    const { page } = await c.signIn('ops');
    await page.getByRole('link', { name: 'Launches' }).click();
    const row = page.locator(`tr[data-launch="${id}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    assert.match(cells[0]!, new RegExp(`^Triple points pilot ${id}`));
    assert.equal(cells[1], 'preparing');
    assert.equal(cells[2], changeId);
    assert.equal(cells[4], '0 %', 'nobody on the new version before go-live');
    await checkPage(page, 'launches');
    await row.getByRole('link', { name: 'Triple points pilot' }).click();
    await page.getByRole('heading', { name: 'Launch Triple points pilot' }).waitFor();
    await page.locator('li[data-check]').first().waitFor();
    const strategy = page.locator('tr[data-area="strategy"]');
    const operations = page.locator('tr[data-area="operations"]');
    assert.equal(await strategy.getByRole('button').count(), 0, 'not the ops key’s area');
    await operations.getByRole('button', { name: 'Sign off for operations…' }).click();
    const dialog = dialogOf(page, 'Sign off for operations');
    await dialog.getByLabel(/Reason/).fill('Ops team briefed');
    await dialog.getByRole('button', { name: 'Sign off', exact: true }).click();
    await page.getByRole('status').getByText('Signed off for operations.').waitFor();
    await operations.getByText(/✓ signed off .* — Ops team briefed/).waitFor();
    const signed = await getLaunch(c, id);
    assert.deepEqual(
      signed.signoffs.map((s) => [s.area, s.signed, s.by]),
      [
        ['strategy', false, null],
        ['operations', true, owners.operations],
      ],
    );
    await page.getByRole('heading', { name: 'Sign-offs: 1 of 2' }).waitFor();
    await checkPage(page, 'launch-preparing');

    // The checklist as the last run found it: each check with ✓ or ✗ and its detail.
    const checks = (await getLaunch(c, id)).checks.results;
    assert.ok(checks.length > 0);
    for (const check of checks) {
      const item = page.locator(`li[data-check="${check.name}"]`);
      assert.match(await item.innerText(), new RegExp(`^${check.ok ? '✓' : '✗'}\\s+${check.name}`));
    }

    // The strategy owner (an admin) signs off; once every check passes, it is ready.
    const { page: admin } = await c.signIn('admin');
    await admin.goto(`${c.t.baseUrl}/console/launches/${id}`);
    await admin.getByRole('button', { name: 'Sign off for strategy…' }).click();
    const strategyDialog = dialogOf(admin, 'Sign off for strategy');
    await strategyDialog.getByRole('button', { name: 'Sign off', exact: true }).click();
    await admin.getByRole('status').getByText('Signed off for strategy.').waitFor();
    await untilState(c, id, 'ready');
    await admin.locator('[data-checks="passed"]').waitFor();
    await admin.getByText('Ready: every check passes and every owner signed off.').waitFor();

    // Go (no blackout in this test's window): the cohort is soft-launched and watched.
    await command(admin, 'Go live…', 'Go live', 'Pilot starts today');
    const live = await untilState(c, id, 'soft-launched');
    assert.equal(live.cohort.percent, 10);
    await admin.locator('.status-line .badge', { hasText: 'soft-launched' }).waitFor();
    await admin.locator('[data-cohort-percent]').getByText('10 % of members').waitFor();
    assert.match(
      await admin.locator('section[aria-labelledby="cohort-heading"]').innerText(),
      new RegExp(`${live.cohort.version} \\(previous ${live.cohort.previousVersion}\\)`),
    );
    await admin.locator('[data-window]').getByText(/left$/).waitFor();
    // The guard metric as the API measured it: cohort, rest, baseline, threshold, verdict.
    const metric = admin.locator('tr[data-metric="accrualErrors"] td');
    await metric.first().waitFor();
    await eventually('the page to show the latest measurement', async () => {
      const m = (await c.t.api('GET', `/launches/${id}`)).body.monitoring as {
        figures: Record<'cohort' | 'rest' | 'baseline', { accrualErrors: number }>;
        verdicts: { metric: string; breached: boolean }[];
      };
      const want = [
        String(m.figures.cohort.accrualErrors),
        String(m.figures.rest.accrualErrors),
        String(m.figures.baseline.accrualErrors),
        '5 (absolute)',
        m.verdicts.find((v) => v.metric === 'accrualErrors')?.breached
          ? '✗ breached: rolls back'
          : '✓ within',
      ];
      const shown = await metric.allInnerTexts();
      return JSON.stringify(shown) === JSON.stringify(want) ? true : undefined;
    });
    await checkPage(admin, 'launch-soft-launched');

    // Pause and resume, by the operations owner.
    await page.reload();
    await command(page, 'Pause…', 'Pause the launch', 'Support queue is long');
    await untilState(c, id, 'paused');
    await page.getByRole('status').getByText('Paused: the window is held.').waitFor();
    await page
      .locator('[data-window]')
      .getByText(/held with .* left/)
      .waitFor();
    await command(page, 'Resume…', 'Resume the launch', 'Queue is back to normal');
    await untilState(c, id, 'soft-launched');
    await page.getByRole('status').getByText('Resumed: the window goes on.').waitFor();

    // Rolled back: the cohort returns to the previous version.
    await command(page, 'Roll back…', 'Roll the launch back', 'Finance asked to stop');
    const back = await untilState(c, id, 'rolled-back');
    await page
      .getByRole('status')
      .getByText(`Rolled back: the cohort is back on version ${back.cohort.previousVersion}.`)
      .waitFor();
    await page.locator('.status-line .badge', { hasText: 'rolled-back' }).waitFor();
    for (const action of ['paused', 'resumed', 'rolled_back']) {
      await page.locator(`.audit li[data-action="${action}"]`).waitFor();
    }
    assert.match(
      await page.locator('.audit li[data-action="rolled_back"]').innerText(),
      new RegExp(`by ${owners.operations}\\s+Reason: Finance asked to stop`),
    );
    assert.equal(await page.getByRole('button', { name: /Pause|Resume|Roll back/ }).count(), 0);
    await checkPage(page, 'launch-rolled-back');
  });
  it('a go-live asked for on a holiday waits and says why; the owner cancels it', async () => {
    const { changeId } = await approvedChange(c.t, program(4));
    const res = await c.t.api('POST', '/launches', {
      body: {
        changeId,
        kind: 'campaign',
        name: 'Holiday campaign',
        owners: { operations: owners.operations },
        cohort: { percent: 5 },
        monitoring: { window: '1 hour' },
        checks: { deadline: '10 minutes', every: '2 seconds' },
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.id as string;
    const signed = await c.t.api('POST', `/launches/${id}/signoffs`, {
      key: c.t.keys.ops,
      body: { area: 'operations' },
    });
    assert.equal(signed.status, 200, JSON.stringify(signed.body));
    await untilState(c, id, 'ready');

    const { page } = await c.signIn('ops');
    await page.goto(`${c.t.baseUrl}/console/launches/${id}`);

    // The owner withdraws the sign-off in the browser (not ready without it), then gives it again.
    const operations = page.locator('tr[data-area="operations"]');
    await operations.getByRole('button', { name: 'Withdraw operations sign-off…' }).click();
    const withdraw = dialogOf(page, 'Withdraw the operations sign-off');
    await withdraw.getByLabel(/Reason/).fill('Newsletter date moved');
    await withdraw.getByRole('button', { name: 'Withdraw sign-off' }).click();
    await page
      .getByRole('status')
      .getByText('Sign-off for operations withdrawn: the launch cannot go live without it.')
      .waitFor();
    await operations.getByText('not yet').waitFor();
    const withdrawn = await getLaunch(c, id);
    assert.deepEqual(
      withdrawn.signoffs.map((s) => [s.area, s.signed]),
      [['operations', false]],
    );
    assert.notEqual(withdrawn.state, 'ready');
    await operations.getByRole('button', { name: 'Sign off for operations…' }).click();
    await dialogOf(page, 'Sign off for operations')
      .getByRole('button', { name: 'Sign off' })
      .click();
    await operations.getByText(/✓ signed off/).waitFor();
    await untilState(c, id, 'ready');
    await page.getByText('Ready: every check passes and every owner signed off.').waitFor();

    // Go, asked for tomorrow at noon: a holiday, so it waits for the next allowed slot.
    await page.getByRole('button', { name: 'Go live…' }).click();
    const go = dialogOf(page, 'Go live');
    await go.getByLabel(/Go live at/).fill(`${tomorrow}T12:00`);
    await go.getByLabel(/Reason/).fill('Campaign starts with the newsletter');
    await go.getByRole('button', { name: 'Go live', exact: true }).click();
    await page
      .getByRole('status')
      .getByText(/^Go given: it goes live in the next allowed slot/)
      .waitFor();
    const waiting = await untilState(c, id, 'waiting');
    const view = (await c.t.api('GET', `/launches/${id}`)).body as {
      goLiveAt: string;
      slotMovedBecause: string;
    };
    assert.match(view.slotMovedBecause, new RegExp(`${tomorrow} is a holiday`));
    assert.ok(Date.parse(view.goLiveAt) >= Date.parse(`${tomorrow}T00:00:00Z`) + 86_400_000);
    const why = page.locator('[data-why]');
    await why.getByText(view.slotMovedBecause, { exact: false }).waitFor();
    assert.match(await why.innerText(), /^Waiting to go live at .+: .+ is a holiday/);
    assert.equal(waiting.cohort.percent, 0, 'nobody on the new version while it waits');
    await page.locator('.status-line .badge', { hasText: 'waiting' }).waitFor();
    await checkPage(page, 'launch-waiting');

    // Called off before go-live: cancelled, and the rule change is approved again.
    await command(page, 'Cancel launch…', 'Cancel the launch', 'Campaign postponed');
    await untilState(c, id, 'cancelled');
    await page.getByText('Cancelled before go-live; the rule change is approved again.').waitFor();
    await eventually('the change to be approved again', async () => {
      const change = await c.t.api('GET', `/rule-changes/${changeId}`);
      return change.body.state === 'approved' ? true : undefined;
    });
  });
});
