/**
 * A session outlives its tabs, in Debian's Chromium: with `broadcast` and no `storage` the origin's IndexedDB
 * store holds it, so an app opened again after every tab closed restores it, and a page shown again from the
 * back-forward cache judges it anew. The page is the suite's (fixtures/page.ts), against the rotating,
 * reuse-detecting token server; the clock is the context's paused fake clock.
 *
 * Chromium is launched here without Playwright's `--disable-back-forward-cache`, and the token server's
 * `Cache-Control: no-store` is taken off its answers on the way (a no-store page is never kept in the cache).
 */
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from '../support/chromium.js';
import { bundlePage, createWorld, until, type World } from './fixtures/browser.js';
import type { Reading } from './fixtures/page.js';

const LIFE_S = 60;

let browser: Browser;
let script: string;
let world: World | undefined;

beforeAll(async () => {
  [browser, script] = await Promise.all([
    chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
      ignoreDefaultArgs: ['--disable-back-forward-cache'],
    }),
    bundlePage(),
  ]);
});
afterAll(() => browser?.close());
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** A world with one tab signed in; each tab records whether each `pageshow` came from the back-forward cache. */
async function signedIn(): Promise<{ world: World; first: Page; signedInAs: Reading }> {
  const opened = await createWorld(browser, script, { tabs: 0, lifeSeconds: LIFE_S, serverSkewMs: 0 });
  world = opened;
  await opened.context.addInitScript(() => {
    const shows: boolean[] = [];
    Object.assign(window, { shows });
    addEventListener('pageshow', (event) => shows.push(event.persisted));
  });
  await opened.context.route(`${opened.origin}/**`, async (route) => {
    if (new URL(route.request().url()).pathname === '/elsewhere') {
      return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>elsewhere</title>' });
    }
    const response = await route.fetch();
    const { 'cache-control': _, ...headers } = response.headers();
    return route.fulfill({ response, headers });
  });
  const first = await opened.openTab();
  await opened.call(first, 'signIn');
  const [signedInAs] = await until([first], opened.read, (readings) => readings[0]!.status === 'fresh');
  return { world: opened, first, signedInAs: signedInAs! };
}

const expectValid = (w: World, reading: Reading) =>
  expect(w.server.verify(reading.peek, reading.now)).toMatchObject({ ok: true, sid: reading.sessionKey });

describe('an app opened again after every tab closed', () => {
  it('has its session back with no request while its token is valid', async () => {
    const { world: w, first, signedInAs } = await signedIn();
    await first.close();
    await w.advance(10_000);

    const again = await w.openTab();
    const [reading] = await until([again], w.read, (readings) => readings[0]!.status === 'fresh');
    expect(reading).toMatchObject({ sessionKey: signedInAs.sessionKey, peek: signedInAs.peek, got: { token: signedInAs.peek } });
    expectValid(w, reading!);
    expect(w.server.counters).toMatchObject({ requests: 0, replays: 0, refused: 0 });
  });

  it('renews an access token that expired with no tab open by one refresh, with no replay', async () => {
    const { world: w, first, signedInAs } = await signedIn();
    await first.close();
    await w.jumpClock(10 * LIFE_S * 1_000);

    const again = await w.openTab();
    const [reading] = await until([again], w.read, (readings) => readings[0]!.status === 'fresh');
    expect(reading!.sessionKey).toBe(signedInAs.sessionKey);
    expect(reading!.peek).not.toBe(signedInAs.peek);
    expectValid(w, reading!);
    expect(w.server.counters).toMatchObject({ requests: 1, replays: 0, refused: 0 });

    // The rotated refresh token was kept: a second reopening renews with it, not with the spent one.
    await again.close();
    await w.jumpClock(10 * LIFE_S * 1_000);
    const third = await w.openTab();
    await until([third], w.read, (readings) => readings[0]!.status === 'fresh');
    expect(w.server.counters).toMatchObject({ requests: 2, replays: 0, refused: 0 });
  });
});

describe('a page shown again from the back-forward cache', () => {
  /** Leaves `page` for another document and comes back; resolves with the page's pageshow record. */
  async function awayAndBack(w: World, page: Page, meanwhile: () => Promise<void>): Promise<boolean[]> {
    await page.goto(`${w.origin}/elsewhere`);
    await meanwhile();
    await page.goBack({ waitUntil: 'commit' });
    // Polled from here: the page's own polling would run on its paused fake clock.
    await expect.poll(() => page.evaluate(() => 'tab' in window).catch(() => false)).toBe(true);
    return page.evaluate(() => (window as unknown as { shows: boolean[] }).shows);
  }

  it('is signed out with no request when another tab signed out meanwhile', async () => {
    const { world: w, first } = await signedIn();
    const second = await w.openTab();
    await until([second], w.read, (readings) => readings[0]!.status === 'fresh');

    // The other tab's sign-out message never reaches the cached page (as in a browser that keeps such a page
    // frozen; Chromium would evict it for the message instead): only the store tells what happened.
    const shows = await awayAndBack(w, second, async () => {
      await first.evaluate(() => (BroadcastChannel.prototype.postMessage = () => {}));
      await w.call(first, 'signOut');
    });
    expect(shows).toEqual([false, true]);
    const [reading] = await until([second], w.read, (readings) => readings[0]!.status === 'signedOut');
    expect(reading).toMatchObject({ peek: null, got: { token: null }, sessionKey: null });
    expect(w.server.counters.requests).toBe(0);
  });

  it('keeps its session with no request when nothing changed meanwhile', async () => {
    const { world: w, signedInAs } = await signedIn();
    const second = await w.openTab();
    await until([second], w.read, (readings) => readings[0]!.status === 'fresh');

    const shows = await awayAndBack(w, second, async () => {});
    expect(shows).toEqual([false, true]);
    const reading = await w.read(second);
    expect(reading).toMatchObject({ status: 'fresh', sessionKey: signedInAs.sessionKey, peek: signedInAs.peek });
    expect(w.server.counters.requests).toBe(0);
  });

  it("is signed out with no request when evicted by another tab's sign-out message, as Chromium does", async () => {
    const { world: w, first } = await signedIn();
    const second = await w.openTab();
    await until([second], w.read, (readings) => readings[0]!.status === 'fresh');

    const shows = await awayAndBack(w, second, () => w.call(first, 'signOut'));
    // Loaded anew (the message evicted it): the store it restores from holds no session, and the open tab
    // answers nothing while the page waits for it.
    expect(shows).toEqual([false]);
    await w.advance(1_000);
    await until([second], w.read, (readings) => readings[0]!.status === 'signedOut');
    expect(w.server.counters.requests).toBe(0);
  });
});
