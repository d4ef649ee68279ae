import { beforeEach, expect, it } from 'vitest';
import { useTabOrigin, type TabOrigin, type Tab } from '../support/tabOrigin.js';

/**
 * Rotations that meet another session's request or a hung lock holder, found by the tabs property test once
 * `rotate()` joined its mix. After each test the invariant checker saw no violation.
 */

const LIFE_S = 10;
/** Half of a 10 s life: the refresh threshold of short tokens. */
const STALE_AFTER_MS = 5_000;

const origin = useTabOrigin(undefined, { lifeS: LIFE_S });
let world: TabOrigin;
beforeEach(() => (world = origin()));

const statuses = () => world.live().map((tab) => world.status(tab));

async function twoTabsSignedIn(): Promise<Tab[]> {
  const tabs = await world.openTabs(2);
  await world.signIn(tabs[0]!);
  world.server.holdRequests();
  return tabs;
}

it("a refusal of a session a sign-in replaced signs no tab out of the session rotated since", async () => {
  const [first] = await twoTabsSignedIn();
  // Both tabs are due: the first sends the old session's refresh, the second queues its own on the lock.
  await world.advance(STALE_AFTER_MS);
  expect(world.server.inFlight()).toHaveLength(1);
  world.sleep(1);
  await world.signIn(first!);
  world.sleep(1);
  await world.rotate(first!);
  expect(statuses()).toEqual(['rotated', 'rotated']);
  // The old session's answer; then the second tab's queued request of that session, which the server refuses.
  world.server.holdRequests(false);
  world.release(world.server.inFlight()[0]!);
  await world.advance(10);
  expect(statuses()).toEqual(['fresh', 'fresh']);
  const [token] = world.peekAll();
  expect(world.peekAll()).toEqual([token, token]);
  expect(world.sidOf(token!)).toBe(world.live()[0]!.engine.getSnapshot().sessionKey);
});

it("a rotation's late answer for a session a sign-in replaced is never taken for the newest session", async () => {
  const [first] = await twoTabsSignedIn();
  world.sleep(1);
  await world.rotate(first!);
  world.sleep(1);
  await world.signIn(first!);
  const signedIn = first!.engine.getSnapshot().sessionKey;
  // The old session's rotation answers after the sign-in: it started later, but of a session both tabs left.
  world.release(world.server.inFlight()[0]!);
  await world.advance(2);
  expect(world.live().map((tab) => tab.engine.getSnapshot().sessionKey)).toEqual([signedIn, signedIn]);
  world.sleep(1);
  await world.rotate(first!);
  world.server.holdRequests(false);
  world.server.inFlight().forEach((request) => world.release(request));
  await world.advance(10);
  expect(statuses()).toEqual(['fresh', 'fresh']);
  const [token] = world.peekAll();
  expect(world.peekAll()).toEqual([token, token]);
  // The sign-in's session, rotated: not the rotation of the session it replaced.
  expect(world.server.issued(token!)?.session.sids[0]).toBe(signedIn);
});

it("a tab's own session written again after a late answer never replaces a later session another tab stored", async () => {
  const tabs = await world.openTabs(3);
  const [first] = tabs;
  await world.signIn(first!);
  world.server.holdRequests();
  for (const step of [() => world.rotate(first!), () => world.signIn(first!), () => world.rotate(first!)]) {
    world.sleep(1);
    await step();
  }
  // The first rotation's late answer (of the session the sign-in replaced) comes first; the queued tabs' requests
  // of that session are dropped unsent, and the first tab writes its session again as it hears of the answer.
  while (world.server.inFlight().length > 0) {
    world.sleep(1);
    world.release(world.server.inFlight()[0]!);
    await world.advance(1);
  }
  await world.advance(10);
  expect(world.server.counters.requests).toBe(2);
  expect(statuses()).toEqual(['fresh', 'fresh', 'fresh']);
  expect(new Set(world.peekAll()).size).toBe(1);
});

it("a write outside the lock that lands late never takes the store back to an older token", async () => {
  // The first tab's store writes wait at a gate: its sign-in's write lands after the other tab's refresh.
  let openGate = () => {};
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const slow = world.open({}, (page) => ({
    ...page,
    store: (name) => {
      const store = page.store(name);
      return { ...store, update: async (key, next) => gate.then(() => store.update(key, next)) };
    },
  }));
  const other = world.open();
  await world.advance(1_000);
  await world.signIn(slow);
  const signedIn = slow.engine.peekToken();
  world.sleep(1);
  const refreshed = await world.getToken(other, true);
  expect(refreshed).not.toBe(signedIn);
  openGate();
  await world.advance(1);
  // A late tab takes what the store holds: the refreshed token, with the refresh token its answer brought.
  const [late] = await world.openTabs(1);
  expect(late!.engine.peekToken()).toBe(refreshed);
  await world.advance(STALE_AFTER_MS);
  expect(statuses()).toEqual(['fresh', 'fresh', 'fresh']);
});
