import { beforeEach, expect, it } from 'vitest';
import { SessionError, createSessionEngine } from '../../src/index.js';
import type { TabEnvironment } from '../../src/tabs/environment.js';
import { TabOrigin, useTabOrigin, type Tab } from '../support/tabOrigin.js';

/**
 * The edges of the tabs' effects: a failure write, a page shown again, a tab stopping, and engines of one origin
 * on two channels. Every failure of the environment reaches `onError` as a SessionError naming what failed.
 */

const origin = useTabOrigin((world) => expect(world.untypedErrors()).toEqual([]));
let world: TabOrigin;
beforeEach(() => (world = origin()));

/** What went to `tab`'s onError naming `part` as failed, as SessionErrors. */
function reported(tab: Tab, part: string): unknown[] {
  return tab.errors.filter((error) => error instanceof SessionError && error.message.startsWith(`The tabs' ${part} failed`));
}

it("a failure the tab cannot record for the others reaches onError as the store's, and the tab tries again", async () => {
  // Only failures are written with `set` (sessions are updated in one step): this store refuses them.
  const tab = world.open({}, (page) => ({
    ...page,
    store: (name) => ({
      ...page.store(name),
      set: () => Promise.reject(new DOMException('The quota is exceeded', 'QuotaExceededError')),
    }),
  }));
  await world.advance(1_000);
  await world.signIn(tab);
  world.server.failNext({ kind: '5xx', status: 503 });
  await world.advance(45_000);
  expect(world.status(tab)).toBe('offline');
  const errors = reported(tab, 'store');
  expect(errors).toHaveLength(1);
  expect((errors[0] as SessionError).code).toBe('session');
  expect((errors[0] as Error).cause).toBeInstanceOf(DOMException);
  await world.advance(10_000);
  expect(world.status(tab)).toBe('fresh');
});

/** The origin's tab with a `shown` the test fires (a page restored from the bfcache). */
function shownTab(): { tab: Tab; show: () => void } {
  let show = () => {};
  const tab = world.open({}, (page: TabEnvironment) => ({ ...page, shown: (handler) => ((show = handler), () => {}) }));
  return { tab, show: () => show() };
}

it("a page shown again whose store cannot be read reports the store's failure and keeps its session", async () => {
  const { tab, show } = shownTab();
  await world.advance(1_000);
  await world.signIn(tab);
  const token = tab.engine.peekToken();
  tab.faults.store = 'reject';
  show();
  await world.advance(1);
  expect(reported(tab, 'store')).toHaveLength(1);
  expect(world.status(tab)).toBe('fresh');
  expect(tab.engine.peekToken()).toBe(token);
});

it('a page shown again while another tab rotates keeps working, and takes the new session once it is stored', async () => {
  const [live] = await world.openTabs(1);
  const { tab: frozen, show } = shownTab();
  await world.advance(1_000);
  await world.signIn(live!);
  frozen.faults.channel = 'throw';
  world.server.holdRequests();
  await world.rotate(live!);
  await world.advance(1);
  // The store holds the rotated session without an access token: nothing to take up yet.
  show();
  await world.advance(1);
  expect(world.status(frozen)).toBe('fresh');
  world.server.holdRequests(false);
  world.release(world.server.inFlight()[0]!);
  await world.advance(1);
  expect(world.status(live!)).toBe('fresh');
  show();
  await world.advance(1);
  expect(frozen.engine.peekToken()).toBe(live!.engine.peekToken());
  expect(world.server.counters.requests).toBe(1);
});

it('a stopped tab that kept to itself reports nothing more; a channel that fails as it closes is reported', async () => {
  const alone = world.open({ lock: 'reject' });
  const [closing] = await world.openTabs(1);
  const before = alone.errors.length;
  world.stop(alone);
  closing!.faults.channel = 'throw';
  world.stop(closing!);
  await world.advance(1);
  expect(alone.errors).toHaveLength(before);
  const errors = reported(closing!, 'channel');
  expect(errors).toHaveLength(1);
  expect((errors[0] as SessionError).code).toBe('session');
});

it("engines on two channels of one origin refresh each on its own: neither waits for the other's lock", async () => {
  const [tab] = await world.openTabs(1);
  const errors: unknown[] = [];
  const other = createSessionEngine({
    refresh: world.server.refreshFor('other channel'),
    broadcast: { channel: 'another-app', environment: world.origin.tab() },
    online$: world.online$,
    resume$: world.resume$,
    onError: (error) => errors.push(error),
  });
  try {
    await world.advance(1_000);
    await world.signIn(tab!);
    other.signIn(world.server.signIn());
    world.server.holdRequests();
    void world.getToken(tab!, true);
    await world.advance(1);
    void other.getToken({ forceRefresh: true }).catch(() => {});
    await world.advance(1);
    expect(world.server.inFlight().map((request) => request.client).sort()).toEqual(['other channel', 'tab 0']);
    world.server.holdRequests(false);
    for (const request of world.server.inFlight()) world.release(request);
    await world.advance(1);
    expect([world.status(tab!), other.getSnapshot().status]).toEqual(['fresh', 'fresh']);
    expect(errors).toEqual([]);
  } finally {
    other.stop();
  }
});

it("a single tab's failed restore does not hold back the restore of the tabs that share the store", async () => {
  const alone = world.open({ lock: 'reject' });
  const [shared] = await world.openTabs(1);
  world.server.failNext({ kind: '429', retryAfterSeconds: 120 });
  alone.engine.signIn({ refreshToken: world.server.signIn().refreshToken! });
  await world.advance(1);
  expect(alone.engine.peekToken()).toBeNull();
  expect(world.server.counters.requests).toBe(1);
  // Its Retry-After is its own: the shared tab's restore (no session yet either) is sent.
  shared!.engine.signIn({ refreshToken: world.server.signIn().refreshToken! });
  await world.advance(1);
  expect(world.status(shared!)).toBe('fresh');
  expect(world.server.counters.requests).toBe(2);
});

it('a sign-out heard by a tab that knows of no session changes nothing there', async () => {
  const [tab] = await world.openTabs(1);
  const stranger = world.origin.tab().open('origin-test', () => {});
  stranger.post({ v: 1, kind: 'signOut', sessionKey: 'a-session-never-told', at: Date.now() });
  await world.advance(1);
  stranger.close();
  expect(world.status(tab!)).toBe('signedOut');
  expect(tab!.errors).toEqual([]);
  await world.signIn(tab!);
  expect(world.status(tab!)).toBe('fresh');
});

it('a page shown again takes the token another tab refreshed meanwhile, before its own comes due', async () => {
  const [live] = await world.openTabs(1);
  const { tab: frozen, show } = shownTab();
  await world.advance(1_000);
  await world.signIn(live!);
  frozen.faults.channel = 'throw';
  await world.advance(20_000);
  expect(typeof (await world.getToken(live!, true))).toBe('string');
  expect(frozen.engine.peekToken()).not.toBe(live!.engine.peekToken());
  show();
  await world.advance(1);
  expect(frozen.engine.peekToken()).toBe(live!.engine.peekToken());
  expect(world.server.counters.requests).toBe(1);
});

it('a stopped engine closes its channel where the page has no back-forward cache to watch', async () => {
  let closed = 0;
  const tab = world.open({}, (page) => {
    const { shown: _none, ...rest } = page;
    return {
      ...rest,
      open: (name, receive) => {
        const channel = page.open(name, receive);
        return { post: (message) => channel.post(message), close: () => void ((closed += 1), channel.close()) };
      },
    };
  });
  await world.advance(1_000);
  world.stop(tab);
  await world.advance(1);
  expect(closed).toBe(1);
});
