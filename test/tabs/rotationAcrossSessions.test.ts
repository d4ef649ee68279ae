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

it("a tab queued behind a hung request through a rotation times out as its own attempt's timeout says", async () => {
  const [first] = await twoTabsSignedIn();
  world.sleep(1);
  await world.advance(STALE_AFTER_MS + 1);
  world.sleep(1);
  await world.rotate(first!);
  // The first tab's request hangs. Its timeout frees the lock the moment the second tab's attempt, begun with it
  // before the rotation, times out too: that tab's request is sent and aborted at once, by its timeout.
  await world.advance(29_999);
  expect(world.server.counters.aborted).toBe(2);
  expect(world.live().map((tab) => tab.engine.getSnapshot().error?.code)).toEqual(['network', 'network']);
  world.server.holdRequests(false);
  await world.advance(10_000);
  expect(statuses()).toEqual(['fresh', 'fresh']);
});
