import { beforeEach, expect, it, vi } from 'vitest';
import type { TabEnvironment } from '../../src/tabs/environment.js';
import { RESTORE_WAIT_MS } from '../../src/tabs/tabActors.js';
import { createMemoryStorage } from '../../src/testing/index.js';
import { TabOrigin, useTabOrigin } from '../support/tabOrigin.js';

/**
 * A tab's life with the origin: a new one waits for the others' answer, one opened after every other closed has
 * the session back from the store (even with a storage of its own that holds none), a tab that keeps to itself leaves nothing in the store and takes nothing from
 * it, one that takes up another's token leaves the store alone, and a stopped engine lets go of its channel and
 * its page listener.
 */

const origin = useTabOrigin();
let world: TabOrigin;
beforeEach(() => (world = origin()));

it('a new tab waits for the open tabs to answer before it starts signed out', async () => {
  const tab = world.open();
  await world.advance(RESTORE_WAIT_MS - 1);
  expect(world.status(tab)).toBe('restoring');
  await world.advance(1);
  expect(world.status(tab)).toBe('signedOut');
});

it('a tab opened after every other one closed has the session back from the store, with no request', async () => {
  const tabs = await world.openTabs(2);
  await world.signIn(tabs[0]!);
  const held = tabs[0]!.engine.peekToken();
  for (const tab of tabs) world.stop(tab);
  const [reopened] = await world.openTabs(1);
  expect(world.status(reopened!)).toBe('fresh');
  expect(reopened!.engine.peekToken()).toBe(held);
  expect(world.server.counters.requests).toBe(0);
});

it("a new tab with a storage of its own still empty (sessionStorage) has the origin's session from the store, with no request", async () => {
  const first = world.open({}, undefined, { storage: createMemoryStorage() });
  await world.advance(1_000);
  await world.signIn(first);
  const held = first.engine.peekToken();
  world.stop(first);
  const reopened = world.open({}, undefined, { storage: createMemoryStorage() });
  await world.advance(1_000);
  expect(world.status(reopened)).toBe('fresh');
  expect(reopened.engine.peekToken()).toBe(held);
  expect(world.server.counters.requests).toBe(0);
});

it('a tab that keeps to itself leaves nothing in the store and takes nothing from it', async () => {
  const [shared] = await world.openTabs(1);
  await world.signIn(shared!);
  const sharedToken = shared!.engine.peekToken();
  // Its lock fails: the store would work, but it keeps to itself.
  const alone = world.open({ lock: 'reject' });
  await world.advance(1_000);
  expect(world.status(alone)).toBe('signedOut');
  await world.signIn(alone);
  await world.signOut(alone);
  await world.signIn(alone);
  // Every sharing tab closes; a new one has the shared session back, not the lone tab's.
  world.stop(shared!);
  const [reopened] = await world.openTabs(1);
  expect(reopened!.engine.peekToken()).toBe(sharedToken);
  expect(world.status(alone)).toBe('fresh');
  expect(alone.engine.peekToken()).not.toBe(sharedToken);
});

it("a tab that takes up another's token writes it no copy in the store: that is left to the tab that wrote it", async () => {
  const written: unknown[] = [];
  const taker = world.open({}, (page: TabEnvironment): TabEnvironment => ({
    ...page,
    store(name) {
      const store = page.store(name);
      // The session is written by an update step (never an older record over a later one); `set` is watched too.
      return {
        ...store,
        set: (key, value) => (written.push(value), store.set(key, value)),
        update: (key, next) => (written.push(key), store.update(key, next)),
      };
    },
  }));
  const [writer] = await world.openTabs(1);
  await world.signIn(writer!);
  expect(world.status(taker)).toBe('fresh');
  expect(taker.engine.peekToken()).toBe(writer!.engine.peekToken());
  expect(written).toEqual([]);
});

it('a stopped engine closes its channel and stops watching its page', async () => {
  const closed = vi.fn();
  const unwatched = vi.fn();
  const tab = world.open({}, (page: TabEnvironment): TabEnvironment => ({
    ...page,
    open: (name, receive) => ({ ...page.open(name, receive), close: closed }),
    shown: () => unwatched,
  }));
  await world.advance(1_000);
  expect([closed, unwatched].map((spy) => spy.mock.calls.length)).toEqual([0, 0]);
  world.stop(tab);
  await world.advance(1);
  expect([closed, unwatched].map((spy) => spy.mock.calls.length)).toEqual([1, 1]);
});
