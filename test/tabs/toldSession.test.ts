import { beforeEach, expect, it } from 'vitest';
import type { TabEnvironment } from '../../src/tabs/environment.js';
import { TabOrigin, useTabOrigin, type Tab } from '../support/tabOrigin.js';

/**
 * What a tab told, heard or kept stands in for the origin's store when the store lags (a holder whose write
 * failed) or cannot be read: a request never sends a refresh token that was spent, and a tab queued behind a
 * holder takes its answer with no request. Where the store is not shared (a tab keeping to itself), nothing
 * of it is read; where no tab told anything yet (a tab opened on its own), the store alone answers.
 */

const REFRESH_PERIOD_MS = 45_000;

const origin = useTabOrigin();
let world: TabOrigin;
beforeEach(() => (world = origin()));

const sessionKey = (tab: Tab) => tab.engine.getSnapshot().sessionKey;

/**
 * Three tabs of one session: `holder` refreshes at 40 s with its answer held back and its store failing, the
 * others come due at 45 s and queue on the lock behind it; then the answer is let through. Returns the
 * requests the queued tabs added.
 */
async function queuedBehindFailedWrite(tabs: Tab[], holder: Tab): Promise<number> {
  await world.advance(40_000);
  holder.faults.store = 'reject';
  world.server.holdRequests();
  const forced = world.getToken(holder, true);
  await world.advance(REFRESH_PERIOD_MS - 40_000 + 1);
  expect(world.server.inFlight()).toHaveLength(1);
  expect(tabs.map((tab) => world.status(tab))).toEqual(['refreshing', 'refreshing', 'refreshing']);
  const before = world.server.counters.requests;
  world.server.holdRequests(false);
  world.release(world.server.inFlight()[0]!);
  await world.advance(1);
  expect(typeof (await forced)).toBe('string');
  const [token] = world.peekAll();
  expect(world.peekAll()).toEqual([token, token, token]);
  return world.server.counters.requests - before;
}

it('after a second sign-in, the tabs queued behind a holder whose write fails take its answer, with no request', async () => {
  const tabs = await world.openTabs(3);
  await world.signIn(tabs[0]!);
  await world.advance(1_000);
  await world.signIn(tabs[1]!);
  expect(new Set(tabs.map(sessionKey)).size).toBe(1);
  expect(await queuedBehindFailedWrite(tabs, tabs[2]!)).toBe(0);
});

it("a sign-out of another session, heard while queued, does not make a tab forget the holder's answer", async () => {
  let heardToken = () => {};
  // Right after the holder's token, a late sign-out of a session none of these tabs holds.
  const afterToken = (tab: TabEnvironment): TabEnvironment => ({
    ...tab,
    open(name, receive) {
      return tab.open(name, (message) => {
        receive(message);
        if ((message as { kind?: unknown }).kind === 'token') heardToken();
      });
    },
  });
  const queued = world.open({}, afterToken);
  heardToken = () => {};
  const tabs = [queued, ...(await world.openTabs(2))];
  await world.signIn(tabs[1]!);
  const stranger = world.origin.tab().open('origin-test', () => {});
  heardToken = () => stranger.post({ v: 1, kind: 'signOut', sessionKey: 'an-older-session', at: Date.now() });
  expect(await queuedBehindFailedWrite(tabs, tabs[2]!)).toBe(0);
  stranger.close();
});

it("a rotation while a refresh is out, with the tab's store failing, sends the refresh token the answer brought", async () => {
  const [tab] = await world.openTabs(1);
  await world.signIn(tab!);
  const rotated = sessionKey(tab!);
  await world.advance(40_000);
  tab!.faults.store = 'reject';
  await world.rotateWhileRefreshOut(tab!);
  // The refresh's answer brought a new refresh token (the one sent is spent): the rotation is sent with it.
  expect(world.status(tab!)).toBe('fresh');
  expect(sessionKey(tab!)).not.toBe(rotated);
  expect(world.server.counters.requests).toBe(2);
});

it('a tab that keeps to itself (its lock fails) rotates its own session, never taking the one the others store', async () => {
  const alone = world.open({ lock: 'reject' });
  await world.advance(1_000);
  await world.signIn(alone);
  const shared = await world.openTabs(2);
  await world.signIn(shared[0]!);
  await world.advance(1_000);
  const own = sessionKey(alone);
  await world.rotate(alone);
  await world.advance(10);
  expect(world.status(alone)).toBe('fresh');
  expect(sessionKey(alone)).not.toBe(own);
  expect(sessionKey(alone)).not.toBe(sessionKey(shared[0]!));
  expect(sessionKey(shared[1]!)).toBe(sessionKey(shared[0]!));
  expect(world.server.counters.requests).toBe(1);
});

it("a tab opened after the others closed keeps to the Retry-After the last one was given", async () => {
  const [first] = await world.openTabs(1);
  await world.signIn(first!);
  world.server.failNext({ kind: '429', retryAfterSeconds: 120 });
  await world.advance(REFRESH_PERIOD_MS);
  expect(world.server.counters.requests).toBe(1);
  world.stop(first!);
  // Its token expired meanwhile: the new tab must renew the session, but not before the server said.
  await world.advance(20_000);
  const reopened = world.open();
  await world.advance(1_000);
  expect(world.server.counters.requests).toBe(1);
  expect(reopened.engine.peekToken()).toBeNull();
  await world.advance(120_000);
  expect(world.status(reopened)).toBe('fresh');
  expect(world.server.counters.requests).toBe(2);
});

it("a rotation while a refresh is out, with the store's writes failing but its reads working, never sends the spent refresh token", async () => {
  let writesFail = false;
  const tab = world.open({}, (page) => ({
    ...page,
    store: (name) => {
      const store = page.store(name);
      const full = () => Promise.reject(new DOMException('The quota is exceeded', 'QuotaExceededError'));
      return { ...store, update: (key, next) => (writesFail ? full() : store.update(key, next)) };
    },
  }));
  await world.advance(1_000);
  await world.signIn(tab);
  const rotated = sessionKey(tab);
  await world.advance(40_000);
  writesFail = true;
  await world.rotateWhileRefreshOut(tab);
  // The store still holds the signed-in token and its (spent) refresh token: the tab sends the one it kept.
  expect(world.status(tab)).toBe('fresh');
  expect(sessionKey(tab)).not.toBe(rotated);
  expect(world.server.counters.requests).toBe(2);
});

it('a tab that stopped hearing the others takes the token another tab stored since its own, with no request', async () => {
  const tabs = await world.openTabs(2);
  await world.signIn(tabs[0]!);
  tabs[0]!.faults.channel = 'throw';
  await world.advance(20_000);
  expect(typeof (await world.getToken(tabs[1]!, true))).toBe('string');
  expect(world.server.counters.requests).toBe(1);
  // At 45 s the first tab comes due: the store holds the second tab's newer token, which answers it.
  await world.advance(REFRESH_PERIOD_MS - 20_000);
  expect(world.server.counters.requests).toBe(1);
  expect(tabs[0]!.engine.peekToken()).toBe(tabs[1]!.engine.peekToken());
});
