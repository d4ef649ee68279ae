import { beforeEach, expect, it } from 'vitest';
import { TabOrigin, useTabOrigin, type Tab } from '../support/tabOrigin.js';

/**
 * A tab whose store starts failing mid-session: what it cannot write, the other tabs still learn from the
 * channel, and their next lock turn goes by it rather than by the store, which lags. After each test the checker
 * must have seen no refresh token sent again once an answer had replaced it.
 */

const origin = useTabOrigin();
let world: TabOrigin;
beforeEach(() => (world = origin()));

const sessionKey = (tab: Tab) => tab.engine.getSnapshot().sessionKey;

async function twoTabsSignedIn(): Promise<Tab[]> {
  const tabs = await world.openTabs(2);
  await world.signIn(tabs[0]!);
  await world.advance(1_000);
  return tabs;
}

it("a holder whose store fails, answered during a rotation, tells its new refresh token: the next lock holder sends that one", async () => {
  const [holder, other] = await twoTabsSignedIn();
  const rotated = sessionKey(holder!);
  holder!.faults.store = 'reject';
  // The rotation withdraws the refresh out: its answer's access token is not wanted, nor announced as a token.
  await world.rotateWhileRefreshOut(holder!);
  expect([world.status(holder!), world.status(other!)]).toEqual(['fresh', 'fresh']);
  expect(sessionKey(other!)).not.toBe(rotated);
  expect(world.violations()).toEqual([]);
});

it('a tab that heard a newer token while idle sends its refresh token in a rotation, though the store lags', async () => {
  const [holder, other] = await twoTabsSignedIn();
  holder!.faults.store = 'reject';
  // Answered and announced, but never written: the store keeps the sign-in's (now spent) refresh token.
  expect(typeof (await world.getToken(holder!, true))).toBe('string');
  expect(other!.engine.peekToken()).toBe(holder!.engine.peekToken());
  // The holder's rotation fetch fails (its failure, unwritten, is not shared): the other tab takes the lock next,
  // reads the store and sends what it heard instead.
  world.server.failNext({ kind: '5xx', status: 503 });
  const before = world.server.counters.requests;
  await world.rotate(holder!);
  await world.advance(10);
  expect(world.server.counters.requests - before).toBe(2);
  expect(world.status(other!)).toBe('fresh');
  expect(world.violations()).toEqual([]);
});
