import { beforeEach, expect, it } from 'vitest';
import type { TabEnvironment } from '../../src/tabs/environment.js';
import { TabOrigin, useTabOrigin } from '../support/tabOrigin.js';

/**
 * A page back from the back-forward cache missed the other tabs' messages: the environment's `shown` tells the
 * engine, which reads the origin's store (a session ended elsewhere ends here; a newer token is taken up).
 */

const origin = useTabOrigin();
let world: TabOrigin;
let showPage: () => void;
beforeEach(() => (world = origin()));

/** The origin's tab, with a `shown` the test fires (a page restored from the bfcache). */
function withShown(tab: TabEnvironment): TabEnvironment {
  return { ...tab, shown: (handler) => ((showPage = handler), () => {}) };
}

async function frozenTab() {
  const [live] = await world.openTabs(1);
  const frozen = world.open({}, withShown);
  await world.advance(1_000);
  await world.signIn(live!);
  expect(world.status(frozen)).toBe('fresh');
  // Its channel hears nothing from now on, as a page in the bfcache.
  frozen.faults.channel = 'throw';
  return { live: live!, frozen };
}

it('a page shown again after a sign-out elsewhere is signed out', async () => {
  const { live, frozen } = await frozenTab();
  await world.signOut(live);
  showPage();
  await world.advance(1);
  expect(world.status(frozen)).toBe('signedOut');
  expect(frozen.engine.peekToken()).toBeNull();
});

it('a page shown again takes the newer token the others stored meanwhile, with no request', async () => {
  const { live, frozen } = await frozenTab();
  await world.advance(45_000);
  expect(world.server.counters.requests).toBe(1);
  showPage();
  await world.advance(1);
  expect(frozen.engine.peekToken()).toBe(live.engine.peekToken());
  expect(world.server.counters.requests).toBe(1);
});

it("an environment whose page watch throws, or whose stop does, is reported and the tab runs on", async () => {
  const throwing = world.open({}, (tab) => ({
    ...tab,
    shown: () => {
      throw new Error('no window');
    },
  }));
  const stopThrows = world.open({}, (tab) => ({
    ...tab,
    shown: () => () => {
      throw new Error('already removed');
    },
  }));
  await world.advance(1_000);
  await world.signIn(throwing);
  expect([throwing, stopThrows].map((tab) => world.status(tab))).toEqual(['fresh', 'fresh']);
  world.stop(stopThrows);
  await world.advance(1);
  for (const tab of [throwing, stopThrows]) {
    expect(tab.errors).toEqual([expect.objectContaining({ code: 'session', message: expect.stringContaining('page watch') })]);
  }
  expect(typeof (await world.getToken(throwing))).toBe('string');
});
