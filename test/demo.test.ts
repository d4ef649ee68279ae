/**
 * The web demo end to end, in Debian's Chromium: starts `startDemo` (token server + Vite), clicks through every
 * control and checks the viewer's highlighted state after each, then saves screenshots (to docs/screenshots/ with `npm run screenshots`).
 * Fails (never skips) when Chromium is missing.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../demo/web/server.js';

/** `npm run screenshots` refreshes the README's pictures; a plain test run keeps its own out of git. */
const SCREENSHOTS = fileURLToPath(
  new URL(process.env.SESSIONCHART_SCREENSHOTS === 'docs' ? '../docs/screenshots/' : '../test-results/screenshots/', import.meta.url),
);
const STEP_MS = 10_000;

let browser: Browser;
let demo: Demo;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  demo = await startDemo({ port: 0 });
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/** The keys of the states the viewer highlights, e.g. ['#session', 'offline', 'offline.waiting']. */
const activeStates = (page: Page) =>
  page.$$eval('[data-state][data-active="true"]', (groups) => groups.map((g) => g.getAttribute('data-state')!).sort());

/** Waits until exactly `leaf` (and its ancestors) is highlighted. */
async function expectActive(page: Page, leaf: string, timeout = STEP_MS) {
  const ancestors = leaf.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'));
  await page.waitForSelector(`[data-state="${leaf}"][data-active="true"]`, { timeout });
  expect(await activeStates(page)).toEqual(['#session', ...ancestors].sort());
}

const text = (page: Page, testId: string) => page.locator(`[data-testid="${testId}"]`).innerText();
const click = (page: Page, testId: string) => page.click(`[data-testid="${testId}"]`);
const logged = (page: Page, type: string) => page.waitForSelector(`[data-event-type="${type}"]`, { timeout: STEP_MS });

async function setNumber(page: Page, testId: string, value: number, applied: () => boolean) {
  await page.fill(`[data-testid="${testId}"]`, String(value));
  await expect.poll(applied, { timeout: STEP_MS }).toBe(true);
}

const secondsLeft = async (page: Page) => Number(/([\d.]+) s left/.exec(await text(page, 'token-life'))?.[1] ?? NaN);

describe('the web demo', () => {
  it('reproduces every field failure from its controls, the viewer following each', async () => {
    // Launched here, not in a hook: without Chromium this test fails rather than being reported as skipped.
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1680, height: 1050 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(demo.url);
    const server = demo.tokenServer;

    // A new tab first asks the others (restoring); alone, it is signed out.
    await expectActive(page, 'signedOut');

    // Token life: 6 s tokens refresh at half-life, by themselves.
    await setNumber(page, 'life', 6, () => server.settings.lifeSeconds === 6);
    await click(page, 'sign-in');
    await expectActive(page, 'fresh');
    expect(await secondsLeft(page)).toBeLessThanOrEqual(6);
    await logged(page, 'timer.refreshDue');
    await expectActive(page, 'fresh');
    await setNumber(page, 'life', 60, () => server.settings.lifeSeconds === 60);

    // Latency: the forced refresh is in flight (refreshing) until the slow answer, then a 60 s token.
    await setNumber(page, 'latency', 1_500, () => server.settings.latencyMs === 1_500);
    await click(page, 'force-refresh');
    await expectActive(page, 'refreshing');
    await expectActive(page, 'fresh');
    expect(await secondsLeft(page)).toBeGreaterThan(50);
    await setNumber(page, 'latency', 0, () => server.settings.latencyMs === 0);

    // 503: a network fault, backing off with the token kept; the server recovers, the retry succeeds.
    await click(page, 'failure-unavailable');
    await click(page, 'force-refresh');
    await expectActive(page, 'offline.backingOff');
    await page.getByText('rejected with code "network"').waitFor({ timeout: STEP_MS });
    await page.screenshot({ path: `${SCREENSHOTS}demo-backoff.png` });
    await click(page, 'failure-none');
    await expectActive(page, 'fresh');

    // 429: the same, the retry no sooner than Retry-After.
    await click(page, 'failure-rateLimited');
    await click(page, 'force-refresh');
    await expectActive(page, 'offline.backingOff');
    await click(page, 'failure-none');
    await expectActive(page, 'fresh');

    // A hanging server: refreshing until the app's 4 s timeout, then backing off.
    await click(page, 'failure-hang');
    await click(page, 'force-refresh');
    await expectActive(page, 'refreshing');
    await expectActive(page, 'offline.backingOff');
    await click(page, 'failure-none');
    await expectActive(page, 'fresh');

    // Offline: no attempts at all; back online, judged afresh.
    await click(page, 'offline');
    await expectActive(page, 'offline.waiting');
    await page.screenshot({ path: `${SCREENSHOTS}demo.png` });
    await click(page, 'offline');
    await expectActive(page, 'fresh');

    // Sleep: the clock jumps 10 min, the token is expired by it; the wake-up refreshes once.
    const refreshesBeforeSleep = server.refreshes;
    await click(page, 'sleep');
    await logged(page, 'env.wake');
    await expectActive(page, 'fresh');
    expect(server.refreshes).toBe(refreshesBeforeSleep + 1);
    expect(await secondsLeft(page)).toBeGreaterThan(50);

    // A server clock an hour ahead: measured at receipt, the token still lives its 60 s here.
    await setNumber(page, 'skew', 3_600, () => server.settings.clockAheadMs === 3_600_000);
    await click(page, 'force-refresh');
    await expectActive(page, 'fresh');
    await expect.poll(async () => Number((await text(page, 'server-offset')).replace(/[^\d.]/g, '')), { timeout: STEP_MS }).toBeCloseTo(3_600, -1);
    expect(await secondsLeft(page)).toBeGreaterThan(50);

    // Rotation (a password change): nothing served until the new session's token; a new session key.
    const before = await text(page, 'session-key');
    await setNumber(page, 'latency', 1_000, () => server.settings.latencyMs === 1_000);
    await click(page, 'rotate');
    await expectActive(page, 'rotated.fetching');
    await expectActive(page, 'fresh');
    const rotatedTo = await text(page, 'session-key');
    expect(rotatedTo).not.toBe(before);
    await setNumber(page, 'latency', 0, () => server.settings.latencyMs === 0);

    // Another tab: it restores the session from this one, without a request of its own.
    const refreshesBeforeTab = server.refreshes;
    const [other] = await Promise.all([page.context().waitForEvent('page'), click(page, 'open-tab')]);
    await expectActive(other, 'fresh');
    expect(await text(other, 'session-key')).toBe(rotatedTo);
    expect(server.refreshes).toBe(refreshesBeforeTab);

    // Sign-out: immediate here, and the other tab follows.
    await click(page, 'sign-out');
    await expectActive(page, 'signedOut');
    await expectActive(other, 'signedOut');
    await page.screenshot({ path: `${SCREENSHOTS}demo-signed-out.png` });

    expect(errors).toEqual([]);
  }, 60_000);
});
