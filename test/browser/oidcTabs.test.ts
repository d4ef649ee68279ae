/**
 * The cross-tab suite against a real OpenID provider: four Chromium pages of one context, each with an engine
 * whose `refresh` is sessionchart/oauth's `createOAuthRefresh`, against oidc-provider with refresh token
 * rotation on (a replayed refresh token makes it revoke the whole grant). The page is served from another
 * loopback origin and reaches the provider through its CORS, as a single-page app would.
 *
 * One clock: the pages run on a paused Playwright clock and this process's `Date` (which oidc-provider reads
 * for `iat`, `exp` and every expiry check) is frozen by vitest and moved with it, so the provider judges each
 * token at the very time the tabs served it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { TokenSet } from '../../src/index.js';
import { ACCOUNT_ID, startOidcServer, type OidcServer } from '../support/oidcServer.js';
import { bundlePage, launchChromium, until } from './fixtures/browser.js';
import type { Reading } from './fixtures/tabApi.js';

const LIFE_S = 60;
/** The default 15 s threshold below a 60 s life: one refresh every 45 s is one request per token life. */
const REFRESH_PERIOD_MS = 45_000;
const LIVES = 6;
const STEP_MS = 5_000;
const TABS = 4;

let browser: Browser;
let server: OidcServer;
let pageServer: http.Server;
let pageUrl: string;
let userinfoEndpoint: string;
let context: BrowserContext;
let tabs: Page[];
/** The one clock, ms: the tabs' and this process's. Whole seconds, as the provider's `iat` is. */
let now = Math.ceil(Date.now() / 1_000) * 1_000;

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'], now });
  let script: string;
  [browser, script, server] = await Promise.all([
    launchChromium(),
    bundlePage('oidcPage.ts'),
    startOidcServer({ accessTokenTtl: LIFE_S }),
  ]);
  const discovery = await fetch(`${server.issuer}/.well-known/openid-configuration`);
  userinfoEndpoint = ((await discovery.json()) as { userinfo_endpoint: string }).userinfo_endpoint;
  pageServer = http.createServer((req, res) => {
    const [type, body] =
      req.url === '/page.js'
        ? ['text/javascript', script]
        : ['text/html', '<!doctype html><title>sessionchart</title><script type="module" src="/page.js"></script>'];
    res.writeHead(200, { 'content-type': type }).end(body);
  });
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  const query = new URLSearchParams({ issuer: server.issuer, clientId: server.clientId });
  pageUrl = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/?${query}`;
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  pageServer?.closeAllConnections();
  await new Promise((resolve) => pageServer?.close(resolve));
  vi.useRealTimers();
});
afterEach(() => context?.close());

async function openTabs(): Promise<void> {
  context = await browser.newContext();
  await context.clock.install({ time: now - 1_000 });
  await context.clock.pauseAt(now);
  tabs = [];
  for (let i = 0; i < TABS; i += 1) {
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
    await page.goto(pageUrl);
    await page.waitForFunction(() => 'oidcTab' in window);
    tabs.push(page);
  }
}

/** Time passes for the tabs and the provider alike; the provider's clock moves first (see tabs.test.ts). */
async function advance(ms: number): Promise<void> {
  now += ms;
  vi.setSystemTime(now);
  await context.clock.runFor(ms);
}

/** The real authorization-code + PKCE flow in this process; its tokens go to the first tab. */
async function signIn(): Promise<TokenSet> {
  const { accessToken, refreshToken, expiresIn } = await server.signIn();
  const tokens = { accessToken, refreshToken, expiresIn };
  await tabs[0]!.evaluate((signedIn) => window.oidcTab.signIn(signedIn), tokens);
  return tokens;
}

const read = (page: Page): Promise<Reading> => page.evaluate(() => window.oidcTab.read());

/** Reads every tab until each passes `check` and all hold the same token. */
const untilAll = (check: (reading: Reading) => boolean) =>
  until(tabs, read, (readings) => readings.every(check) && readings.every((r) => r.peek === readings[0]!.peek));

/** The provider's userinfo endpoint answers for the token now, as a resource server would ask it. */
async function providerAccepts(token: string): Promise<boolean> {
  const response = await fetch(userinfoEndpoint, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { sub?: string };
  return response.status === 200 && body.sub === ACCOUNT_ID;
}

/** Every token a tab peeked or got, judged by the provider at the tabs' time of the reading. */
async function expectServedAccepted(readings: Reading[]): Promise<void> {
  const served = new Set<string>();
  for (const reading of readings) {
    expect(reading.now).toBe(now);
    if (reading.peek !== null) served.add(reading.peek);
    if ('token' in reading.got && reading.got.token !== null) served.add(reading.got.token);
  }
  for (const token of served) expect(await providerAccepts(token)).toBe(true);
}

async function signOutsSeen(): Promise<number> {
  const counts = await Promise.all(tabs.map((page) => page.evaluate(() => window.oidcTab.signOutsSeen())));
  return counts.reduce((a, b) => a + b, 0);
}

describe('tabs of one origin on oidc-provider (sessionchart/oauth in Chromium)', () => {
  it('make one refresh request per token life across four tabs, never replay, serve only accepted tokens', async () => {
    await openTabs();
    const loggedBefore = server.refreshes().length;
    const requestsBefore = server.requestCount();
    const signedIn = await signIn();
    expect(signedIn.expiresIn).toBe(LIFE_S);
    expect(server.requestCount() - requestsBefore).toBe(1); // the code exchange
    await expectServedAccepted(await untilAll((r) => r.status === 'fresh'));

    for (let elapsed = 0; elapsed < LIVES * REFRESH_PERIOD_MS; elapsed += STEP_MS) {
      await advance(STEP_MS);
      const readings = await untilAll((r) => r.status === 'fresh' && r.peek !== null);
      for (const reading of readings) expect(reading.got).toEqual({ token: reading.peek });
      await expectServedAccepted(readings);
    }

    const refreshes = server.refreshes().slice(loggedBefore);
    expect(server.requestCount() - requestsBefore - 1).toBe(LIVES);
    expect(refreshes).toHaveLength(LIVES);
    expect(refreshes.filter((refresh) => !refresh.ok)).toEqual([]);
    // Each refresh token was sent once, starting with the sign-in's: the provider never saw a replay.
    expect(refreshes[0]!.refreshToken).toBe(signedIn.refreshToken);
    expect(new Set(refreshes.map((refresh) => refresh.refreshToken)).size).toBe(LIVES);
    expect(await signOutsSeen()).toBe(0);
    // The provider judges on the tabs' clock: the sign-in's token, long expired there, is expired here too.
    expect(await providerAccepts(signedIn.accessToken)).toBe(false);
  }, 60_000);

  it('ride out the provider being down past a token life, then refresh once: no replay, no sign-out', async () => {
    await openTabs();
    const signedIn = await signIn();
    const [first] = await untilAll((r) => r.status === 'fresh');
    const expiresAt = now + LIFE_S * 1_000;
    const logged = server.refreshes().length;

    await server.stop();
    try {
      for (let elapsed = 0; elapsed < 2 * LIFE_S * 1_000; elapsed += STEP_MS) {
        await advance(STEP_MS);
        for (const reading of await Promise.all(tabs.map(read))) {
          // The held token while it is valid, then none: a caller is told the network is down, never signed out.
          expect(reading.status).not.toBe('signedOut');
          expect([first!.peek, null]).toContain(reading.peek);
          if (reading.peek !== null) expect(reading.now).toBeLessThan(expiresAt);
          expect(reading.got).toEqual(reading.peek === null ? { error: 'network' } : { token: reading.peek });
        }
      }
    } finally {
      await server.restart();
    }

    // Callers keep to the backoff: the next attempt comes with a retry timer (30 s at most), and every tab adopts
    // its answer.
    await advance(30_000);
    const after = await untilAll((r) => r.status === 'fresh' && r.peek !== null);
    await expectServedAccepted(after);
    expect(server.refreshes().slice(logged)).toEqual([{ refreshToken: signedIn.refreshToken, ok: true }]);
    expect(await signOutsSeen()).toBe(0);
  }, 60_000);

  it('sign every tab out with one request once a replayed refresh token has made the provider revoke the grant', async () => {
    await openTabs();
    const signedIn = await signIn();
    await untilAll((r) => r.status === 'fresh');
    await advance(REFRESH_PERIOD_MS);
    const [refreshed] = await untilAll((r) => r.status === 'fresh' && r.peek !== signedIn.accessToken);
    expect(await providerAccepts(refreshed!.peek!)).toBe(true);

    // Someone replays the sign-in's refresh token, spent by the tabs' refresh: the provider revokes the grant.
    const logged = server.refreshes().length;
    const replay = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: signedIn.refreshToken!,
        client_id: server.clientId,
      }),
    });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_grant');
    expect(await providerAccepts(refreshed!.peek!)).toBe(false);

    // An app whose API refused the token forces a refresh: refused too, so the session ends in every tab.
    expect(await tabs[2]!.evaluate(() => window.oidcTab.getToken({ forceRefresh: true }))).toEqual({ token: null });
    const after = await until(tabs, read, (readings) => readings.every((r) => r.status === 'signedOut'));
    for (const reading of after) expect(reading).toMatchObject({ peek: null, got: { token: null }, sessionKey: null });
    await advance(2 * LIFE_S * 1_000);
    expect(server.refreshes().slice(logged).map((refresh) => refresh.ok)).toEqual([false, false]);
  }, 60_000);
});
