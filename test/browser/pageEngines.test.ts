/**
 * Two engines of one page (two APIs, two providers) in Chromium: on the default channel the second fails at
 * creation with a SessionError naming the channel (a stopped engine frees it, as hot module reload needs); on two
 * channels they are two independent sessions, each shared with the same channel's engine in another tab.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createTokenServer, type TokenServer } from '../../src/testing/index.js';
import { bundlePage, launchChromium, servePage, type ServedPage } from './fixtures/browser.js';
import type { EnginesApi } from './fixtures/enginesPage.js';

let browser: Browser;
let script: string;
let server: TokenServer;
let served: ServedPage;
let context: BrowserContext;
let pageErrors: string[];

beforeAll(async () => {
  [browser, script] = await Promise.all([launchChromium(), bundlePage('enginesPage.ts')]);
});
afterAll(() => browser?.close());
afterEach(async () => {
  expect(pageErrors).toEqual([]);
  await context.close();
  await served.close();
});

async function openPage(): Promise<Page> {
  if (!context) throw new Error('no context');
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(served.url);
  await page.waitForFunction(() => 'engines' in window);
  return page;
}

async function newOrigin(): Promise<Page> {
  pageErrors = [];
  server = createTokenServer();
  served = await servePage(server, 'engines', script);
  context = await browser.newContext();
  return openPage();
}

type Method = keyof EnginesApi;
const call = <K extends Method>(page: Page, name: K, ...args: Parameters<EnginesApi[K]>) =>
  page.evaluate(([name, args]) => (window.engines[name] as (...a: unknown[]) => unknown)(...args), [name, args] as const) as Promise<
    Awaited<ReturnType<EnginesApi[K]>>
  >;

it('a second engine on the default channel fails at creation, naming it; a stopped one frees it', async () => {
  const page = await newOrigin();
  expect(await call(page, 'create')).toEqual({ index: 0 });
  const second = await call(page, 'create');
  expect(second).toMatchObject({ error: { name: 'SessionError', code: 'session', message: expect.stringContaining('"sessionchart"') } });

  await call(page, 'signIn', 0, 'user-1');
  expect(await call(page, 'read', 0)).toMatchObject({ status: 'fresh', token: expect.any(String) });
  // Hot module reload: the old engine is stopped, the new one takes the channel and the session from the store.
  await call(page, 'stop', 0);
  expect(await call(page, 'create')).toEqual({ index: 1 });
  expect(await call(page, 'read', 1)).toMatchObject({ status: 'fresh', token: expect.any(String) });
  expect(server.counters.requests).toBe(0);
});

it('two engines on two channels are two sessions, each shared with its channel in another tab', async () => {
  const first = await newOrigin();
  expect(await call(first, 'create', 'api')).toEqual({ index: 0 });
  expect(await call(first, 'create', 'files')).toEqual({ index: 1 });
  await call(first, 'signIn', 0, 'alice');
  await call(first, 'signIn', 1, 'bob');
  const [api, files] = [await call(first, 'read', 0), await call(first, 'read', 1)];
  expect(api.status).toBe('fresh');
  expect(files.status).toBe('fresh');
  expect(api.sessionKey).not.toBe(files.sessionKey);
  expect(api.token).not.toBe(files.token);

  // Another tab: its 'files' engine gets bob's session, its 'api' engine alice's.
  const second = await openPage();
  await call(second, 'create', 'files');
  await call(second, 'create', 'api');
  expect(await call(second, 'read', 0)).toMatchObject({ sessionKey: files.sessionKey, token: files.token });
  expect(await call(second, 'read', 1)).toMatchObject({ sessionKey: api.sessionKey, token: api.token });

  // A sign-out on one channel leaves the other signed in, in both tabs.
  await call(first, 'signOut', 0);
  await expect.poll(() => call(second, 'read', 1).then((r) => r.status)).toBe('signedOut');
  expect(await call(first, 'read', 1)).toMatchObject({ status: 'fresh', token: files.token });
  expect(await call(second, 'read', 0)).toMatchObject({ status: 'fresh', token: files.token });
  expect(server.counters.requests).toBe(0);
});
