/**
 * The web demo end to end, in Debian's Chromium at 1280x800: starts `startDemo` (token server, bearer API and
 * Vite), clicks through every control and checks after each that the viewer highlights the right state and
 * keeps it in view, what the log and the outcome lines say (against the servers' own counts for the API calls
 * and the reloads), that bad settings are refused, and an axe-core check; then saves screenshots (to
 * docs/screenshots/ with `npm run screenshots`). Fails (never skips) when Chromium is missing.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../demo/web/server.js';

/** `npm run screenshots` refreshes the README's pictures; a plain test run keeps its own out of git. */
const SCREENSHOTS = fileURLToPath(
  new URL(process.env.SESSIONCHART_SCREENSHOTS === 'docs' ? '../docs/screenshots/' : '../test-results/screenshots/', import.meta.url),
);
const STEP_MS = 10_000;
const VIEWPORT = { width: 1280, height: 800 };
/** What the log must never show: XState's internal event and actor ids. */
const INTERNAL_ID = /xstate\.|\.actor\.|^0\./;

let browser: Browser | undefined;
let context: BrowserContext | undefined;
let demo: Demo;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  demo = await startDemo({ port: 0 });
});
afterEach(async () => {
  await context?.close();
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/** A page of its own context (tabs of one context share the session). Chromium is launched inside the test, not
 * in a hook: without it the test fails rather than being reported as skipped. */
async function openDemo(): Promise<{ page: Page; errors: string[] }> {
  browser ??= await launchChromium();
  context = await browser.newContext({ viewport: VIEWPORT });
  // Every click and read is a step with its own bound, so a stuck one names itself instead of the test's timeout.
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(demo.url);
  return { page, errors };
}

/** The keys of the states the viewer highlights, e.g. ['#session', 'offline', 'offline.waiting']. */
const activeStates = (page: Page) =>
  page.$$eval('[data-state][data-active="true"]', (groups) => groups.map((g) => g.getAttribute('data-state')!).sort());

/** Whether the state's box lies inside the chart's viewport (its visible, scrolled part) and the window. */
const inView = (page: Page, key: string) =>
  page.evaluate((key) => {
    const box = document.querySelector(`[data-state="${key}"] > rect`)!.getBoundingClientRect();
    const viewport = document.querySelector<HTMLElement>('[data-chart-viewport]')!;
    const frame = viewport.getBoundingClientRect();
    const left = frame.left + viewport.clientLeft;
    const top = frame.top + viewport.clientTop;
    const within = (l: number, t: number, r: number, b: number) => box.left >= l && box.top >= t && box.right <= r && box.bottom <= b;
    return within(left, top, left + viewport.clientWidth, top + viewport.clientHeight) && within(0, 0, innerWidth, innerHeight);
  }, key);

/** The on-screen font size of a state's label, in px. */
const labelPx = (page: Page, key: string) =>
  page.$eval(`[data-state="${key}"] text`, (text) => parseFloat(getComputedStyle(text).fontSize) * (text as SVGTextElement).getScreenCTM()!.a);

/** Waits until exactly `leaf` (and its ancestors) is highlighted, and the view has brought its box into sight. */
async function expectActive(page: Page, leaf: string, timeout = STEP_MS) {
  const ancestors = leaf.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'));
  await page.waitForSelector(`[data-state="${leaf}"][data-active="true"]`, { timeout });
  expect(await activeStates(page)).toEqual(['#session', ...ancestors].sort());
  await expect.poll(() => inView(page, leaf), { timeout: STEP_MS }).toBe(true);
}

const byTestId = (page: Page, testId: string) => page.locator(`[data-testid="${testId}"]`);
const text = (page: Page, testId: string) => byTestId(page, testId).innerText();
const click = (page: Page, testId: string) => page.click(`[data-testid="${testId}"]`);
const clickButton = (page: Page, name: string) => page.getByRole('button', { name, exact: true }).click();
/** The log's entries, oldest first. */
const logOldestFirst = async (page: Page) => (await byTestId(page, 'event-log').locator('li').allInnerTexts()).reverse();
const logged = (page: Page, words: string | RegExp) =>
  byTestId(page, 'event-log').locator('li', { hasText: words }).first().waitFor({ timeout: STEP_MS });

async function setNumber(page: Page, testId: string, value: number, applied: () => boolean) {
  await page.fill(`[data-testid="${testId}"]`, String(value));
  await expect.poll(applied, { timeout: STEP_MS }).toBe(true);
}

/** The outcome line of the control titled `title`, once its text matches. */
async function outcomeOf(page: Page, title: string, words: RegExp): Promise<string> {
  const line = page.getByRole('group', { name: title, exact: true }).locator('[data-testid="outcome"]').filter({ hasText: words });
  await line.waitFor({ timeout: STEP_MS });
  return line.innerText();
}

/** Collects every token the token server hands the page's context, to make sure none shows in the page. */
function collectTokens(context: BrowserContext): string[] {
  const tokens: string[] = [];
  context.on('response', async (response) => {
    if (!/\/auth\/(token|signin)$/.test(response.url()) || !response.ok()) return;
    const body = (await response.json().catch(() => ({}))) as { access_token?: string; refresh_token?: string };
    tokens.push(...[body.access_token, body.refresh_token].filter((token) => token !== undefined));
  });
  return tokens;
}

/** No XState id in the log, and no token anywhere in the page. */
async function expectNoInternalIdsNorTokens(page: Page, tokens: string[]) {
  const lines = (await logOldestFirst(page)).flatMap((entry) => entry.split('\n'));
  expect(lines.filter((line) => INTERNAL_ID.test(line))).toEqual([]);
  const html = await page.content();
  expect(tokens.length).toBeGreaterThan(0);
  expect(tokens.filter((token) => html.includes(token))).toEqual([]);
}

/** axe-core's serious and critical findings, as `rule: targets`. */
async function graveAxeViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const grave = violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  return grave.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}

const secondsLeft = async (page: Page) => Number(/([\d.]+) s left/.exec(await text(page, 'token-life'))?.[1] ?? NaN);

describe('the web demo at 1280x800', () => {
  it('draws the active state and its neighbours readable in the default view; actual size and the whole chart one click away', async () => {
    const { page, errors } = await openDemo();
    await expectActive(page, 'signedOut');
    await click(page, 'sign-in');
    await expectActive(page, 'fresh');
    for (const key of ['fresh', 'settling', 'stale', 'refreshing']) expect(await labelPx(page, key), key).toBeGreaterThanOrEqual(11);

    await clickButton(page, 'Actual size');
    await expect.poll(() => inView(page, 'fresh'), { timeout: STEP_MS }).toBe(true);
    expect(await labelPx(page, 'fresh')).toBeCloseTo(13, 1);

    await clickButton(page, 'Whole chart');
    await expect.poll(() => page.$$eval('[data-state]', (groups) => groups.length)).toBeGreaterThan(10);
    for (const key of await page.$$eval('[data-state]:not([data-state^="#"])', (gs) => gs.map((g) => g.getAttribute('data-state')!))) {
      expect(await inView(page, key), key).toBe(true);
    }
    await clickButton(page, 'Follow');
    await expect.poll(() => labelPx(page, 'fresh')).toBeGreaterThanOrEqual(11);
    await click(page, 'sign-out');
    await expectActive(page, 'signedOut');
    expect(errors).toEqual([]);
    // The first test also pays for launching Chromium and Vite's first page load, which a loaded CI machine slows.
  }, 60_000);

  it('refuses settings out of range with a visible message, and passes an axe-core check', async () => {
    const { page, errors } = await openDemo();
    await expectActive(page, 'signedOut');
    await click(page, 'sign-in');
    await expectActive(page, 'fresh');
    const before = demo.settings();
    const refusals = [
      ['life', 'Token life (s)', 0, 'from 5 to 3600 s'],
      ['latency', 'Latency (ms)', -500, 'from 0 to 30000 ms'],
      ['skew', 'Server clock (s ahead)', 7_200, 'from -3600 to 3600 s'],
    ] as const;
    for (const [testId, label, bad, range] of refusals) {
      // Filled through its visible label: the label is associated with the input.
      await page.getByLabel(label, { exact: true }).fill(String(bad));
      expect(await text(page, `${testId}-refused`)).toContain(range);
      expect(await byTestId(page, testId).getAttribute('aria-invalid')).toBe('true');
    }
    expect(demo.settings()).toEqual(before);
    // The server refuses them too.
    const direct = await fetch(new URL('/demo-api/settings', demo.url), { method: 'POST', body: JSON.stringify({ lifeSeconds: 0 }) });
    expect(direct.status).toBe(400);

    expect(await graveAxeViolations(page)).toEqual([]);

    await setNumber(page, 'life', 30, () => demo.settings().lifeSeconds === 30);
    expect(await byTestId(page, 'life-refused').count()).toBe(0);
    await setNumber(page, 'life', before.lifeSeconds, () => demo.settings().lifeSeconds === before.lifeSeconds);
    for (const testId of ['latency', 'skew']) await page.fill(`[data-testid="${testId}"]`, '0');
    await click(page, 'sign-out');
    await expectActive(page, 'signedOut');
    expect(errors).toEqual([]);
  });

  it('reproduces every field failure from its controls, the viewer following each and the log saying why', async () => {
    const { page, errors } = await openDemo();
    const server = demo.tokenServer;
    const tokens = collectTokens(page.context());

    // A new tab first asks the others (restoring); alone, it is signed out.
    await expectActive(page, 'signedOut');
    expect((await logOldestFirst(page))[0]).toMatch(/^this tab opened: reading the session kept from before/);
    await logged(page, 'no other tab had a session: signed out');

    // Token life: 6 s tokens refresh at half-life, by themselves. A sign-in says nothing of the server's clock;
    // the first refresh measures it: the clocks agree.
    await setNumber(page, 'life', 6, () => demo.settings().lifeSeconds === 6);
    await click(page, 'sign-in');
    await expectActive(page, 'fresh');
    expect(await text(page, 'server-offset')).toBe('not measured yet (no refresh answered)');
    expect(await secondsLeft(page)).toBeLessThanOrEqual(6);
    await logged(page, /^the refresh timer fired/);
    await logged(page, /^refresh answered: new token, expires in \d s/);
    await expectActive(page, 'fresh');
    expect(await text(page, 'server-offset')).toBe('0 s (the clocks agree)');
    await setNumber(page, 'life', 60, () => demo.settings().lifeSeconds === 60);

    // Latency: the forced refresh is in flight (refreshing) until the slow answer, then a 60 s token.
    await setNumber(page, 'latency', 1_500, () => demo.settings().latencyMs === 1_500);
    await click(page, 'force-refresh');
    await expectActive(page, 'refreshing');
    await expectActive(page, 'fresh');
    await logged(page, /^refresh answered: new token, expires in 5\d s/);
    // Its life counts from the request's start: the 1.5 s the answer took are spent.
    expect(await secondsLeft(page)).toBeLessThanOrEqual(58.5);
    expect(await secondsLeft(page)).toBeGreaterThan(50);
    await setNumber(page, 'latency', 0, () => demo.settings().latencyMs === 0);

    // 503: a network fault, backing off with the token kept; the outcome line lasts as long as that state.
    await click(page, 'failure-unavailable');
    await click(page, 'force-refresh');
    await expectActive(page, 'offline.backingOff.open');
    const rejected = page.getByText(/^rejected with code "network" in offline · (just now|\d+ s ago)$/);
    await rejected.waitFor({ timeout: STEP_MS });
    await logged(page, /^refresh failed \(The token endpoint answered 503\): retrying after a backoff; serving the held token/);
    await page.screenshot({ path: `${SCREENSHOTS}demo-backoff.png` });
    await click(page, 'failure-none');
    await expectActive(page, 'fresh');
    await rejected.waitFor({ state: 'detached', timeout: STEP_MS });

    // 429: the same, the retry no sooner than Retry-After, which no wake-up or network signal cuts short.
    await click(page, 'failure-rateLimited');
    await click(page, 'force-refresh');
    await expectActive(page, 'offline.backingOff.firm');
    await logged(page, /the server asks to wait 3 s\): retrying after a backoff that nothing cuts short/);
    await click(page, 'failure-none');
    await expectActive(page, 'fresh');

    // A hanging server: refreshing until the engine's refreshTimeoutMs (4 s here) aborts it, then backing off.
    await click(page, 'failure-hang');
    await click(page, 'force-refresh');
    await expectActive(page, 'refreshing');
    await expectActive(page, 'offline.backingOff.open');
    await logged(page, /^refresh failed \(.*within 4000 ms.*\): retrying after a backoff; serving the held token/);
    await click(page, 'failure-none');
    await expectActive(page, 'fresh');

    // Offline: no attempts at all; back online, judged afresh.
    await click(page, 'offline');
    await expectActive(page, 'offline.waiting');
    await logged(page, /^the network went down: serving the held token/);
    // The README's picture: the page from its top (the click scrolled it down to the control).
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${SCREENSHOTS}demo.png` });
    await click(page, 'offline');
    await expectActive(page, 'fresh');

    // Sleep: the clock jumps 10 min, the token is expired by it; the wake-up refreshes once.
    const refreshesBeforeSleep = server.counters.granted;
    await click(page, 'sleep');
    await logged(page, /^the page woke up/);
    await expectActive(page, 'fresh');
    expect(server.counters.granted).toBe(refreshesBeforeSleep + 1);
    expect(await secondsLeft(page)).toBeGreaterThan(50);

    // A server clock an hour ahead: measured from the request's start, the token still lives its 60 s here.
    await setNumber(page, 'skew', 3_600, () => demo.settings().clockAheadMs === 3_600_000);
    await click(page, 'force-refresh');
    await expectActive(page, 'fresh');
    await expect.poll(() => text(page, 'server-offset'), { timeout: STEP_MS }).toBe('+3600 s (the server is ahead)');
    expect(await secondsLeft(page)).toBeGreaterThan(50);

    // Rotation (a password change): nothing served until the new session's token; a new session key.
    const before = await text(page, 'session-key');
    await setNumber(page, 'latency', 1_000, () => demo.settings().latencyMs === 1_000);
    await click(page, 'rotate');
    await expectActive(page, 'rotated.fetching');
    await expectActive(page, 'fresh');
    const rotatedTo = await text(page, 'session-key');
    expect(rotatedTo).not.toBe(before);
    await logged(page, `the new session's token arrived: session ${rotatedTo}`);
    await setNumber(page, 'latency', 0, () => demo.settings().latencyMs === 0);
    await setNumber(page, 'skew', 0, () => demo.settings().clockAheadMs === 0);

    // Another tab: it restores the session from this one, without a request of its own, and its log says so.
    const refreshesBeforeTab = server.counters.granted;
    const [other] = await Promise.all([page.context().waitForEvent('page'), click(page, 'open-tab')]);
    await expectActive(other, 'fresh');
    expect(await text(other, 'session-key')).toBe(rotatedTo);
    expect(server.counters.granted).toBe(refreshesBeforeTab);
    const otherLog = await logOldestFirst(other);
    expect(otherLog[0]).toMatch(/^this tab opened: reading the session kept from before/);
    // Its first steps: opened, (the network reported up), restored.
    // The tabs' store holds the session the other tab wrote: it comes back with no request.
    expect(otherLog.slice(0, 3).join('\n')).toMatch(
      new RegExp(`^restored session ${rotatedTo} (kept by the tabs \\(IndexedDB\\), with no request|from another tab): token expires in \\d+ s`, 'm'),
    );

    // Sign-out: immediate here, and the other tab follows.
    await click(page, 'sign-out');
    await expectActive(page, 'signedOut');
    await expectActive(other, 'signedOut');
    await page.screenshot({ path: `${SCREENSHOTS}demo-signed-out.png` });

    for (const tab of [page, other]) await expectNoInternalIdsNorTokens(tab, tokens);
    expect(errors).toEqual([]);
  }, 90_000);

  it('calls the API with createAuthFetch: after a revoke, one 401, one refresh and a retry answered 200; then 200 at once', async () => {
    const { page, errors } = await openDemo();
    const tokens = collectTokens(page.context());
    await expectActive(page, 'signedOut');
    // Signed out: authFetch rejects and sends nothing.
    const signedOut = demo.api.counts;
    await click(page, 'call-api');
    await outcomeOf(page, 'Call the API', /^rejected with code "auth": signed out, nothing was sent · the API counted 0 requests/);
    expect(demo.api.counts).toEqual(signedOut);

    // A long token life: no timer refresh of its own comes between the counts.
    await setNumber(page, 'life', 600, () => demo.settings().lifeSeconds === 600);
    await click(page, 'sign-in');
    await expectActive(page, 'fresh');
    await click(page, 'revoke-api');
    const revoked = /^the API revoked token #(\w{8}); the token server still counts the session valid/;
    const revokedToken = revoked.exec(await outcomeOf(page, 'Revoke the token on the API', revoked))![1];

    const api = demo.api.counts;
    const refreshes = demo.tokenServer.counters.granted;
    await click(page, 'call-api');
    const retried = /^token #(\w{8}): 401 → 1 forced refresh → retry with token #(\w{8}): 200 \(ada, session sid-[\w-]+\) · the API counted 2 requests \(1 refused\), the token server 1 refresh /;
    const [, refusedToken, retryToken] = retried.exec(await outcomeOf(page, 'Call the API', retried))!;
    expect(refusedToken).toBe(revokedToken);
    expect(retryToken).not.toBe(revokedToken);
    expect(demo.api.counts).toEqual({ requests: api.requests + 2, refused: api.refused + 1 });
    expect(demo.tokenServer.counters.granted).toBe(refreshes + 1);
    await expectActive(page, 'fresh');
    // The revoked token is no longer held: the revoke's line is over.
    await page.getByRole('group', { name: 'Revoke the token on the API' }).locator('[data-testid="outcome"]').waitFor({ state: 'detached' });

    // The next call carries the new token: 200, no 401, no refresh.
    await click(page, 'call-api');
    const atOnce = new RegExp(`^token #${retryToken}: 200 \\(ada, session sid-[\\w-]+\\), no 401, no refresh · the API counted 1 request \\(0 refused\\), the token server 0 refreshes `);
    await outcomeOf(page, 'Call the API', atOnce);
    expect(demo.api.counts).toEqual({ requests: api.requests + 3, refused: api.refused + 1 });
    expect(demo.tokenServer.counters.granted).toBe(refreshes + 1);

    expect(await graveAxeViolations(page)).toEqual([]);
    await expectNoInternalIdsNorTokens(page, tokens);
    expect(errors).toEqual([]);
  });

  it('restores the session after "Reload the page": no request while the token is valid, one restore refresh once expired', async () => {
    const { page, errors } = await openDemo();
    const server = demo.tokenServer;
    const tokens = collectTokens(page.context());
    const tokenRequests: string[] = [];
    page.context().on('request', (request) => {
      if (request.url().endsWith('/auth/token')) tokenRequests.push(request.url());
    });
    const reload = async (after: RegExp) => {
      tokenRequests.length = 0;
      await click(page, 'reload');
      return outcomeOf(page, 'Reload the page', after);
    };
    await expectActive(page, 'signedOut');
    await setNumber(page, 'life', 300, () => demo.settings().lifeSeconds === 300);
    await click(page, 'sign-in');
    await expectActive(page, 'fresh');
    const sid = await text(page, 'session-key');

    // A valid token: back from the tabs' store, no request.
    const refreshes = server.counters.granted;
    await reload(new RegExp(`^after the reload: session ${sid} came back from the tabs' store \\(IndexedDB\\) with no request: token expires in \\d+ s`));
    await expectActive(page, 'fresh');
    expect(server.counters.granted).toBe(refreshes);
    expect(tokenRequests).toEqual([]);
    let log = await logOldestFirst(page);
    expect(log[0]).toMatch(/^this page was reloaded: reading the session kept from before \(IndexedDB\)/);
    expect(log.slice(0, 3).join('\n')).toMatch(new RegExp(`^restored session ${sid} kept by the tabs \\(IndexedDB\\), with no request: token expires in \\d+ s`, 'm'));

    // Offline, the laptop sleeps 10 min: the 5 min token expires with no attempt to renew it. Reloaded (online
    // again, on the slept clock), the expired token gets one refresh, reason "restore".
    await click(page, 'offline');
    await expectActive(page, 'offline.waiting');
    const sleptMs = demo.settings().sleptMs;
    await click(page, 'sleep');
    await expect.poll(() => demo.settings().sleptMs).toBeGreaterThan(sleptMs);
    await reload(new RegExp(`^after the reload: session ${sid} was kept, its access token expired: 1 refresh request \\(reason "restore"\\) renewed it`));
    await expectActive(page, 'fresh');
    expect(server.counters.granted).toBe(refreshes + 1);
    expect(tokenRequests).toHaveLength(1);
    log = await logOldestFirst(page);
    expect(log[0]).toMatch(/^this page was reloaded/);
    await logged(page, new RegExp(`^found session ${sid} kept from before, its access token expired: one refresh \\(reason "restore"\\) renews it`));
    await logged(page, new RegExp(`^the restore refresh answered: session ${sid} is back, expires in \\d+ s`));

    // Signed out: nothing kept, nothing asked.
    await click(page, 'sign-out');
    await expectActive(page, 'signedOut');
    await reload(/^after the reload: nothing was kept \(signed out, or never signed in\) and no open tab had a session: signed out, no request/);
    expect(tokenRequests).toEqual([]);
    await logged(page, 'nothing kept from before: asking the other tabs for their session');
    await logged(page, 'no other tab had a session: signed out');
    await expectNoInternalIdsNorTokens(page, tokens);
    expect(errors).toEqual([]);
  }, 60_000);
});
