/**
 * The console in headless Chromium against the real stack: sign in, the queue, a redemption's
 * page and its timeline, and a cancel with a reason. Each page is photographed and checked by axe.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { checkPage, startConsoleTest, type ConsoleTest } from '../support/browser';
import { eventually } from '../support/context';
import { balanceOf } from '../support/ledger';
import { waitForStatus } from '../support/redemptions';
import { workflowIds } from '../../workflows/shared';
import {
  backorderedRedemption,
  completedRedemption,
  seedQueueForDocs,
  usePrograms,
} from './support';

const docs = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');
const rowOf = (page: Page, id: string) => page.locator(`tr[data-redemption="${id}"]`);

/** What `attributes` reads of an element in the page (the tests are typed without the DOM). */
interface Tagged {
  getAttribute(name: string): string | null;
}

/** One attribute of every element a locator finds, in order. */
async function attributes(locator: Locator, name: string): Promise<(string | null)[]> {
  // All at once: row by row, a poll that re-renders the table between the count and the last
  // row's read left `nth(i)` waiting for a row that had gone.
  return locator.evaluateAll(
    (rows, attr) => (rows as unknown as Tagged[]).map((row) => row.getAttribute(attr)),
    name,
  );
}

/** The counts the page shows (`All`, per status, `at risk`), as `{ label: count }`. */
async function countsShown(page: Page): Promise<Record<string, number>> {
  const shown: Record<string, number> = {};
  for (const text of await page
    .getByLabel('Redemptions per status')
    .getByRole('listitem')
    .allTextContents()) {
    const [, label, count] = /^(.+) (\d+)$/.exec(text) ?? [];
    assert.ok(label && count, `a count: '${text}'`);
    shown[label] = Number(count);
  }
  const atRisk = page.locator('.at-risk-count strong');
  if (await atRisk.count()) shown['at risk'] = Number(await atRisk.textContent());
  return shown;
}

/** GET /redemptions/counts as the page should show it: `All`, each status with any, at risk. */
async function countsOfApi(c: ConsoleTest, query = '') {
  const res = await c.t.api('GET', `/redemptions/counts${query}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const body = res.body as { byStatus: Record<string, number>; atRisk: number; total: number };
  const shown: Record<string, number> = { All: body.total };
  for (const [status, count] of Object.entries(body.byStatus))
    if (count > 0) shown[status.replaceAll('_', ' ')] = count;
  // Shown when some are at risk, and while the queue shows only those.
  if (body.atRisk > 0 || query.includes('atRisk=true')) shown['at risk'] = body.atRisk;
  return { shown, atRisk: body.atRisk };
}

/** The page's counts become those of GET /redemptions/counts (pushed, at most every 2 s). */
async function assertCountsOfApi(c: ConsoleTest, page: Page, query = ''): Promise<void> {
  let last: [Record<string, number>, Record<string, number>] = [{}, {}];
  await eventually('the counts shown to be the API’s', async () => {
    last = [await countsShown(page), (await countsOfApi(c, query)).shown];
    return isDeepStrictEqual(...last) ? true : undefined;
  }).catch(() => assert.deepEqual(last[0], last[1], 'the counts shown are the API’s'));
}

describe('console: the redemption queue and a redemption’s page', () => {
  let c: ConsoleTest;
  let page: Page;
  /** Made first, still waiting for stock at the end: at risk of breaching its SLA by then. */
  let waiting: { id: string };
  before(async () => {
    // The program's delivery SLA is 1 hour; at risk from 59.5 minutes before the deadline, so a
    // redemption still waiting 30 s after its request is at risk and a fresh one is not.
    c = await startConsoleTest('console-redemptions', { SLA_AT_RISK_SECONDS: 3570 });
    await usePrograms(c.t);
    waiting = await backorderedRedemption(c.t);
    ({ page } = await c.signIn('ops'));
  });
  after(async () => {
    // `CONSOLE_DOCS_SCREENSHOTS=1 npm test -- test/console/redemptions.test.ts` renews the README's.
    // Over the tests' redemptions (two at risk by now), one of each kind and outcome.
    if (process.env.CONSOLE_DOCS_SCREENSHOTS && page) {
      await seedQueueForDocs(c.t);
      await eventually(
        'two at risk',
        async () => ((await countsOfApi(c)).atRisk >= 2 ? true : undefined),
        60_000,
      );
      await page.goto(`${c.t.baseUrl}/console/`);
      await page.locator('table.queue tbody tr[data-redemption]').nth(12).waitFor();
      await page.locator('.at-risk-count').waitFor();
      fs.mkdirSync(docs, { recursive: true });
      await page.screenshot({ path: path.join(docs, 'queue.png'), fullPage: true });
    }
    await c?.stop();
  });

  it('signs in with an API key and shows who is signed in, the pages and the queue', async () => {
    const header = page.getByRole('banner');
    await assert.doesNotReject(header.getByText('Signed in as console-redemptions-ops').waitFor());
    assert.equal(await header.locator('.role').textContent(), 'ops');
    const nav = page.getByRole('navigation', { name: 'Pages' });
    assert.deepEqual(await nav.getByRole('link').allTextContents(), [
      'Queue',
      'Substitutions',
      'Reviews',
      'Anomalies',
      'Members',
      'Programme health',
      'Catalog',
      'Rule changes',
      'Launches',
    ]);
    assert.equal(
      await nav.getByRole('link', { name: 'Queue' }).getAttribute('aria-current'),
      'page',
    );
    assert.equal(await page.title(), 'Redemption queue · loyalty-ops console');
  });

  it('a redemption made through the API appears in the queue without a reload', async () => {
    // Set in the page now: still there once the row shows, so the page was not reloaded.
    const marker = await page.evaluate(() => ((globalThis as { marker?: number }).marker = 42));
    const { id, rewardId, view } = await completedRedemption(c.t);
    const row = rowOf(page, id);
    await row.waitFor({ timeout: 20_000 });
    assert.equal(await page.evaluate(() => (globalThis as { marker?: number }).marker), marker);
    assert.match(await row.innerText(), new RegExp(rewardId));
    // The row may first show a step pushed before the last one (shipped): the push brings the rest.
    const badge = row.locator('.badge').first();
    await badge.filter({ hasText: /^completed$/ }).waitFor({ timeout: 10_000 });
    assert.equal(await badge.textContent(), 'completed');
    assert.equal(
      await row.getByRole('link', { name: /Temporal UI/ }).getAttribute('href'),
      view.workflow.url,
    );

    // The counts per status are those of the API.
    await assertCountsOfApi(c, page);
    assert.ok((await countsShown(page)).completed! >= 1);
    await checkPage(page, 'queue');
  });

  it('the queue is pushed its changes (no polling): a cancel made elsewhere shows at once', async () => {
    const { id } = await backorderedRedemption(c.t);
    const lists: string[] = [];
    let listened = false;
    const record = (request: { url(): string }) => {
      const { pathname } = new URL(request.url());
      if (pathname === '/redemptions') lists.push(pathname);
      if (pathname === '/redemptions/events') listened = true;
    };
    page.on('request', record);
    try {
      await page.goto(`${c.t.baseUrl}/console/`);
      const row = rowOf(page, id);
      await row.locator('.badge', { hasText: 'backordered' }).waitFor();
      // Longer than the 4 s the page used to poll at: read once, then it only listens.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      assert.equal(lists.length, 1, 'the list read once while nothing changed');
      assert.ok(listened, 'it listens to the queue’s event stream');

      const cancelled = await c.t.api('POST', `/redemptions/${id}/cancel`, {
        key: c.t.keys.ops,
        body: { reason: 'Cancelled from the phone line' },
      });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      await row.locator('.badge', { hasText: 'cancelled' }).waitFor({ timeout: 3000 });
      await assertCountsOfApi(c, page);
      assert.equal(lists.length, 1, 'the row and counts changed in place, the list not read again');
    } finally {
      page.off('request', record);
    }
  });

  it('filters by status and reward', async () => {
    const { id, rewardId } = await backorderedRedemption(c.t);
    await page.getByLabel('Status', { exact: true }).selectOption('backordered');
    await rowOf(page, id).waitFor();
    // The row may first arrive pushed into the unfiltered view; wait for the filtered read to land.
    const statuses = await eventually('only backordered rows', async () => {
      const seen = await page
        .locator('table.queue tbody tr .badge[class*="status-"]')
        .allTextContents();
      return seen.length > 0 && seen.every((s) => s === 'backordered') ? seen : undefined;
    });
    assert.deepEqual(new Set(statuses), new Set(['backordered']));

    // Kept in the address: a reload (or a shared link) shows the same filter.
    assert.equal(new URL(page.url()).search, '?status=backordered');
    await page.reload();
    await rowOf(page, id).waitFor();
    assert.equal(await page.getByLabel('Status', { exact: true }).inputValue(), 'backordered');

    await page.getByLabel('Status', { exact: true }).selectOption('');
    await page.getByLabel('Reward', { exact: true }).fill(rewardId);
    await eventually('only that reward', async () => {
      const ids = await attributes(page.locator('table.queue tbody tr'), 'data-redemption');
      return ids.length === 1 && ids[0] === id ? true : undefined;
    });
    await page.getByLabel('Reward', { exact: true }).fill('no-such-reward');
    await page.getByText('No redemptions match these filters.').waitFor();
    await page.getByLabel('Reward', { exact: true }).fill('');
  });

  it('a redemption’s page shows its member, reward, shipment and each step of its timeline', async () => {
    const { id, rewardId, memberId, view } = await completedRedemption(c.t);
    await rowOf(page, id).waitFor({ timeout: 20_000 });
    // By keyboard: the row's link takes focus and Enter opens the redemption.
    await rowOf(page, id)
      .getByRole('link', { name: /Open redemption/ })
      .focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: `Redemption ${id}` }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/console/redemptions/${id}`);

    // The heading shows at once; the timeline once the redemption is read.
    await page.locator('.timeline li[data-step="completed"]').waitFor();
    const steps = page.locator('.timeline li[data-step]');
    assert.deepEqual(
      await attributes(steps, 'data-step'),
      view.timeline.map((s: { step: string }) => s.step),
    );
    for (const [i, step] of (view.timeline as { step: string; at: string }[]).entries()) {
      const item = steps.nth(i);
      assert.equal(await item.locator('time').getAttribute('datetime'), step.at);
      assert.match(await item.innerText(), / by \S+/);
    }
    const timeline = await page.locator('.timeline').innerText();
    assert.match(timeline, /requested .* by ops:console-redemptions-ops/);

    const summary = await page.getByRole('region', { name: 'Member and reward' }).innerText();
    assert.match(summary, new RegExp(memberId));
    assert.match(summary, new RegExp(rewardId));
    assert.match(summary, /Test physical \(physical\)/, 'the reward by name');
    const shipment = await page.getByRole('region', { name: 'Shipment or gift card' }).innerText();
    assert.match(shipment, new RegExp(view.live.shipment.trackingNumber));
    assert.equal(await page.getByRole('button', { name: 'Cancel redemption…' }).count(), 0);
    await checkPage(page, 'redemption');
  });

  it('ops records the return of a delivered reward, with a reason', async () => {
    const { id } = await completedRedemption(c.t);
    await page.goto(`${c.t.baseUrl}/console/redemptions/${id}`);
    await page.getByRole('button', { name: 'Record a return…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Record a return' });
    await dialog.getByLabel(/Reason/).fill('Parcel came back damaged');
    await dialog.getByRole('button', { name: 'Record the return' }).click();
    await page
      .getByRole('status')
      .getByText(/Return recorded/)
      .waitFor();
    await waitForStatus(c.t, id, 'refunded');
    await page.locator('.timeline li[data-step="refunded"]').waitFor({ timeout: 10_000 });
    assert.match(
      await page.locator('.timeline li[data-step="returned"]').innerText(),
      /Parcel came back damaged/,
    );
    assert.equal(await page.getByRole('button', { name: 'Record a return…' }).count(), 0);
  });

  it('ops settles the points a terminated workflow left held, in a dialog', async () => {
    const { id, memberId } = await backorderedRedemption(c.t);
    const handle = c.t.env.client.workflow.getHandle(workflowIds.redemption(id));
    await handle.terminate('engineer stopped it');
    await page.goto(`${c.t.baseUrl}/console/redemptions/${id}`);
    await page.getByRole('button', { name: 'Settle: spend the held points…' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Cancel redemption…' }).count(), 0);
    await page.getByRole('button', { name: 'Settle: give the held points back…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Give the held points back' });
    await dialog.getByLabel(/Reason/).fill('Workflow terminated by mistake');
    await checkPage(page, 'redemption-settle-dialog');
    await dialog.getByRole('button', { name: 'Give the points back' }).click();
    await page
      .getByRole('status')
      .getByText(/Settled: the held points are given back/)
      .waitFor();
    await page.locator('.timeline li[data-step="settled"]').waitFor({ timeout: 10_000 });
    assert.match(
      await page.locator('.timeline li[data-step="settled"]').innerText(),
      /Workflow terminated by mistake/,
    );
    assert.equal(await page.getByRole('button', { name: /Settle:/ }).count(), 0);
    await waitForStatus(c.t, id, 'cancelled');
    assert.deepEqual(await balanceOf(c.t, memberId), {
      available: 500,
      pending: 0,
      held: 0,
      debt: 0,
    });
  });

  it('ops cancels a redemption with a reason, in a dialog, and the page shows it', async () => {
    const { id } = await backorderedRedemption(c.t);
    // Opened by its address: the API answers the console's page for any path under /console/.
    await page.goto(`${c.t.baseUrl}/console/redemptions/${id}`);
    await page.getByRole('heading', { name: `Redemption ${id}` }).waitFor();
    await page.getByText('backordered', { exact: true }).first().waitFor();
    await page.getByRole('button', { name: 'Cancel redemption…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this redemption' });
    await dialog.waitFor();
    await page.keyboard.press('Escape'); // closes it, nothing sent
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Cancel redemption…' }).click();
    await dialog.waitFor();
    assert.equal(
      await page.evaluate(
        'document.activeElement && document.activeElement.labels?.[0]?.textContent',
      ),
      'Reason (kept in the audit trail)',
      'the reason field has the focus',
    );
    await dialog.getByRole('button', { name: 'Cancel redemption' }).click();
    await dialog.getByRole('alert').getByText('Give a reason of at least 3 characters.').waitFor();
    await checkPage(page, 'redemption-cancel-dialog');

    await dialog.getByLabel(/Reason/).fill('Member asked by phone');
    await dialog.getByRole('button', { name: 'Cancel redemption' }).click();
    await page
      .getByRole('status')
      .getByText(/Cancelled: stock and points are given back/)
      .waitFor();
    const done = await waitForStatus(c.t, id, 'cancelled');
    assert.ok(done.timeline.some((s: { step: string }) => s.step === 'cancelled'));
    await page.locator('.timeline li[data-step="cancelled"]').waitFor({ timeout: 10_000 });
    assert.match(
      await page.locator('.timeline li[data-step="cancelled"]').innerText(),
      /Member asked by phone/,
    );
    assert.equal(await page.getByRole('button', { name: 'Cancel redemption…' }).count(), 0);
  });

  it('a redemption’s page is pushed its changes (no polling): a cancel made elsewhere shows at once', async () => {
    const { id } = await backorderedRedemption(c.t);
    const apiPath = `/redemptions/${id}`;
    const asked: string[] = [];
    const record = (request: { url(): string }) => {
      const { pathname } = new URL(request.url());
      if (pathname === apiPath || pathname === `${apiPath}/events`) asked.push(pathname);
    };
    page.on('request', record);
    try {
      await page.goto(`${c.t.baseUrl}/console${apiPath}`);
      await page.getByText('backordered', { exact: true }).first().waitFor();
      // Longer than the 4 s the page used to poll at: read once, then it only listens.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      assert.deepEqual(
        asked.filter((p) => p === apiPath),
        [apiPath],
        'read once while nothing changed',
      );
      assert.ok(asked.includes(`${apiPath}/events`), 'it listens to the event stream');

      const cancelled = await c.t.api('POST', `${apiPath}/cancel`, {
        key: c.t.keys.ops,
        body: { reason: 'Cancelled from the phone line' },
      });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      await page.locator('.timeline li[data-step="cancelled"]').waitFor({ timeout: 5000 });
      assert.match(
        await page.locator('.timeline li[data-step="cancelled"]').innerText(),
        /Cancelled from the phone line/,
      );
    } finally {
      page.off('request', record);
    }
  });

  it('a redemption at risk of breaching its SLA stands out; the counts are the API’s', async () => {
    await eventually(
      'the first redemption to be at risk',
      async () =>
        (await c.t.api('GET', `/redemptions/${waiting.id}`)).body.atRisk ? true : undefined,
      60_000,
    );
    const fresh = await backorderedRedemption(c.t);
    const now = await c.t.api('GET', `/redemptions/${fresh.id}`);
    assert.equal(now.body.atRisk, false, 'just made: not at risk yet');
    await page.goto(`${c.t.baseUrl}/console/`);
    await rowOf(page, fresh.id).waitFor();

    const late = rowOf(page, waiting.id);
    assert.equal(await late.getAttribute('class'), 'at-risk');
    assert.match(await late.locator('td').nth(6).innerText(), /^At risk\s+due /);
    assert.equal(await late.locator('.badge').nth(1).textContent(), 'At risk');
    assert.equal(await rowOf(page, fresh.id).getAttribute('class'), null);
    assert.match(await rowOf(page, fresh.id).locator('td').nth(6).innerText(), /^due /);

    await assertCountsOfApi(c, page);
    const line = page.locator('.at-risk-count');
    const shown = await countsShown(page);
    assert.ok(shown['at risk']! >= 1, JSON.stringify(shown));
    assert.equal(
      (await line.innerText()).trim(),
      `${shown['at risk']} at risk of breaching their SLA Show only these`,
    );
    await checkPage(page, 'queue-at-risk');

    // Only those: the rows the API lists at risk, every one of them marked.
    await line.getByRole('button', { name: 'Show only these' }).click();
    assert.equal(new URL(page.url()).search, '?atRisk=true');
    const atRiskIds = async (): Promise<string[]> => {
      const listed = await c.t.api('GET', '/redemptions?atRisk=true&limit=500');
      const rows = listed.body.redemptions as { redemptionId: string }[];
      return rows.map((r) => r.redemptionId);
    };
    const first = await atRiskIds();
    assert.ok(first.includes(waiting.id) && !first.includes(fresh.id), first.join());
    await eventually('only the rows at risk, as the API lists them', async () => {
      const ids = await attributes(page.locator('table.queue tbody tr'), 'data-redemption');
      return isDeepStrictEqual(ids, await atRiskIds()) ? true : undefined;
    });
    assert.deepEqual(
      new Set(await attributes(page.locator('table.queue tbody tr'), 'class')),
      new Set(['at-risk']),
    );
    await assertCountsOfApi(c, page, '?atRisk=true');
    await line.getByRole('button', { name: 'Show all' }).click();
    await rowOf(page, fresh.id).waitFor();
    assert.equal(new URL(page.url()).search, '');

    // Its page says so too, with the deadline the API gives.
    const { slaDeadline } = (await c.t.api('GET', `/redemptions/${waiting.id}`)).body;
    await late.getByRole('link', { name: /Open redemption/ }).click();
    const status = page.locator('.status-line');
    await status.getByText('At risk', { exact: true }).waitFor();
    assert.equal(await status.locator('.sla-deadline time').getAttribute('datetime'), slaDeadline);
    assert.match(await status.innerText(), /To be delivered by /);
  });
});
