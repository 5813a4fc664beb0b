/**
 * The browser tests' harness: the real stack's API (with its worker and partners, as every other
 * test), the built console it serves, and a system Chromium driven by playwright-core. Pages are
 * signed in through the sign-in form, photographed into test-artifacts/screenshots/, and checked
 * with axe-core for serious or critical accessibility violations.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { chromiumFlags, findChromium } from '../../stack/chromium';
import type { AppConfig } from '../../config';
import type { Role } from '../../domain/roles';
import { startTestContext, type TestContext } from './context';
import type { PartnerOptions } from './partners';

const root = path.resolve(__dirname, '..', '..');
export const screenshotDir = path.join(root, 'test-artifacts', 'screenshots');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface ConsoleTest {
  t: TestContext;
  browser: Browser;
  /** A new browser context (its own cookies) signed in with `role`'s key, on the queue page. */
  signIn: (role: Role) => Promise<{ context: BrowserContext; page: Page }>;
  /** A fresh page with no session. */
  anonymous: () => Promise<{ context: BrowserContext; page: Page }>;
  stop: () => Promise<void>;
}

export async function startConsoleTest(
  name: string,
  overrides: Partial<AppConfig> = {},
  options: { partners?: PartnerOptions } = { partners: {} },
): Promise<ConsoleTest> {
  const t = await startTestContext(name, overrides, options);
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: findChromium(),
      headless: true,
      args: chromiumFlags,
    });
  } catch (err) {
    await t.stop();
    throw err;
  }
  const contexts: BrowserContext[] = [];
  const anonymous = async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${t.baseUrl}/console/`);
    return { context, page };
  };
  const signIn = async (role: Role) => {
    const opened = await anonymous();
    const { page } = opened;
    await page.getByLabel('API key').fill(t.keys[role]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Redemption queue' }).waitFor();
    return opened;
  };
  return {
    t,
    browser,
    signIn,
    anonymous,
    stop: async () => {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
      await t.stop();
    },
  };
}

/** A full-page screenshot, kept as a test artifact (and returned as a path). */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
}

/** axe-core run in the page: no serious or critical violation (their rules and where, if any). */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  // Evaluated through the DevTools protocol, so the console's CSP does not stop it.
  await page.evaluate(axeSource);
  const result = await page.evaluate<AxeResult>(
    'axe.run(document, { resultTypes: ["violations"] })',
  );
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    );
  assert.deepEqual(bad, [], `accessibility of ${what}`);
}

/** Screenshot and accessibility check of the page as it is now. */
export async function checkPage(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  await assertAccessible(page, name);
}
